import { test, expect } from '@playwright/test';

test.describe('home page', () => {
  test('renders one h1, the flash sales and the product grid', async ({ page }) => {
    const response = await page.goto('/');
    expect(response, 'navigation to / returned no response').not.toBeNull();
    expect(response!.status()).toBe(200);

    await expect(page.locator('h1')).toHaveCount(1);
    await expect(page.locator('h1')).toBeVisible();

    const sales = page.getByTestId('sales');
    await expect(sales).toBeVisible();
    // At least one sale card.
    await expect(sales.locator('.sale-card').first()).toBeVisible();

    const cards = page.locator('.product-card');
    // At least eight product cards: the eighth one exists and is visible.
    await expect(cards.nth(7)).toBeVisible();
  });

  test('every product card has an image with a non-empty alt text', async ({ page }) => {
    await page.goto('/');
    const cards = page.locator('.product-card');
    await expect(cards.first()).toBeVisible();

    const count = await cards.count();
    expect(count).toBeGreaterThanOrEqual(8);
    for (let i = 0; i < count; i++) {
      const card = cards.nth(i);
      const images = card.locator('img');
      expect(await images.count(), `product card #${i + 1} has no <img>`).toBeGreaterThan(0);
      for (let j = 0; j < (await images.count()); j++) {
        await expect(images.nth(j), `product card #${i + 1}, image #${j + 1}`).toHaveAttribute('alt', /\S/);
      }
    }
  });
});
