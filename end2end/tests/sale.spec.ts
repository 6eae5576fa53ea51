import { test, expect } from '@playwright/test';

test.describe('flash sale page', () => {
  test('the first sale card leads to its sale page with a status badge', async ({ page }) => {
    await page.goto('/');

    const card = page.getByTestId('sales').locator('a.sale-card').first();
    await expect(card).toBeVisible();
    const href = await card.getAttribute('href');
    expect(href).toMatch(/^\/sales\/[^/?#]+$/);

    await card.click();

    await expect(page).toHaveURL((url) => url.pathname === href);
    await expect(page.locator('h1')).toHaveCount(1);
    await expect(page.locator('h1')).toHaveText(/\S/);
    const status = page.getByTestId('sale-status');
    await expect(status).toBeVisible();
    await expect(status).toHaveText(/^\s*(Live|Upcoming|Sold out|Ended)\s*$/);
  });
});
