import { test, expect } from '@playwright/test';

test.describe('product page', () => {
  test('the first product card leads to its product page', async ({ page }) => {
    await page.goto('/products');

    const card = page.locator('a.product-card').first();
    await expect(card).toBeVisible();
    const href = await card.getAttribute('href');
    expect(href).toMatch(/^\/products\/[^/?#]+$/);
    const name = (await card.locator('.product-name').innerText()).trim();
    expect(name).not.toBe('');

    await card.click();

    await expect(page).toHaveURL((url) => url.pathname === href);
    await expect(page.locator('h1')).toHaveCount(1);
    await expect(page.locator('h1')).toHaveText(name);
    await expect(page.getByTestId('price')).toBeVisible();
    await expect(page.getByTestId('price')).toHaveText(/\d/);
    await expect(page.getByTestId('stock')).toBeVisible();
    await expect(page.getByTestId('stock')).toHaveText(/\S/);
  });
});
