import { expect, test } from '@playwright/test';
import { addAddressAndCard, buyAndOpenOrder, formWith, openLiveSale, signUp, uniqueUser } from './helpers';

// The order saga as a shopper sees it: the order page refreshes itself (no JavaScript
// needed) while payment, packing and the carrier move the order along.
test.describe('order saga', () => {
  test('a paid order goes from placed to delivered on its own page', async ({ page }, testInfo) => {
    test.setTimeout(90_000);
    await signUp(page, uniqueUser(testInfo, 'd'));
    await addAddressAndCard(page);
    await openLiveSale(page);
    await buyAndOpenOrder(page, formWith(page, 'Buy now'));
    await expect(page.locator('[data-testid=live-note]')).toBeVisible();

    const status = page.locator('[data-testid=order-status]');
    // (The page reloads every 5 s, so the 5 s "Shipped" state may pass between two loads; the
    // timeline below proves it happened.)
    await expect(status).toHaveText('Delivered', { timeout: 60_000 });
    const timeline = page.locator('[data-testid=timeline-entry] strong');
    await expect(timeline).toContainText(['Placed', 'Paid', 'Delivery booked', 'Packed', 'Shipped', 'Delivered']);
    await expect(page.locator('[data-testid=live-note]')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
  });

  test('a declined card fails the order with the reason and nothing to cancel', async ({ page }, testInfo) => {
    test.setTimeout(60_000);
    await signUp(page, uniqueUser(testInfo, 'e'));
    await addAddressAndCard(page, '4000 0000 0000 0002');
    await openLiveSale(page);
    await buyAndOpenOrder(page, formWith(page, 'Buy now'));
    // The simulated provider takes 12 s here (playwright.config.ts).
    await expect(page.locator('[data-testid=order-status]')).toHaveText('Failed', { timeout: 40_000 });
    await expect(page.locator('main')).toContainText('Payment declined: Your card was declined.');
    await expect(page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
  });
});
