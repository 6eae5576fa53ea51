import { test, expect } from '@playwright/test';

test.describe('not found and bad requests', () => {
  test('an unknown product id is a 404 "Product not found" page', async ({ page }) => {
    const response = await page.goto('/products/999999999');
    expect(response).not.toBeNull();
    expect(response!.status()).toBe(404);
    await expect(page.locator('h1')).toHaveCount(1);
    await expect(page.locator('h1')).toHaveText('Product not found');
  });

  test('an unknown path is a 404 "Page not found" page', async ({ page }) => {
    const response = await page.goto('/no-such-page');
    expect(response).not.toBeNull();
    expect(response!.status()).toBe(404);
    await expect(page.locator('h1')).toHaveCount(1);
    await expect(page.locator('h1')).toHaveText('Page not found');
  });

  test('a malformed product id is the same 404 "Product not found" page', async ({ page }) => {
    const response = await page.goto('/products/abc');
    expect(response).not.toBeNull();
    expect(response!.status()).toBe(404);
    await expect(page.locator('h1')).toHaveCount(1);
    await expect(page.locator('h1')).toHaveText('Product not found');
  });
});
