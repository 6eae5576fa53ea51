import { expect, test } from '@playwright/test';
import {
  addAddressAndCard,
  buyAndOpenOrder,
  expectLanded,
  field,
  formWith,
  header,
  openLiveSale,
  pathIs,
  signUp,
  submit,
  uniqueUser,
} from './helpers';

test.describe('flash-sale checkout', () => {
  test('a shopper buys from a live sale, sees the order placed, and cancels it', async ({ page }, testInfo) => {
    const user = uniqueUser(testInfo, 'b');
    await signUp(page, user);

    // Checkout needs an address and a payment method.
    await addAddressAndCard(page);

    // The live demo sale, from the home page.
    // The demo sale is shared with other specs' buyers, so its stock is not asserted here:
    // admin.spec.ts checks the exact count (5, 4 after the purchase, 5 after the cancel) on a
    // sale it creates for itself.
    await openLiveSale(page);

    const buy = formWith(page, 'Buy now');
    await expect(field(buy, 'Pay with')).toContainText('•••• 4242');
    await buyAndOpenOrder(page, buy);
    // The saga has started: placed, and maybe already paid (it cannot ship for 20 s here).
    await expect(page.locator('[data-testid=order-status]')).toHaveText(/^(Placed|Paid)$/);
    await expect(page.locator('[data-testid=order-payment]')).toHaveText('Visa •••• 4242');
    await expect(page.locator('.timeline li').first()).toContainText('Placed');
    const orderUrl = page.url();

    // It is listed under My orders.
    await header(page).getByRole('link', { name: 'My orders' }).click();
    await expect(page).toHaveURL(pathIs('/orders'));
    await expect(page.locator('.order-row')).toHaveCount(1);

    // Cancel before shipping.
    await page.goto(orderUrl);
    await submit(page, 'Cancel order');
    await expect(page.locator('[data-testid=order-status]')).toHaveText('Cancelled');
    await expect(page.locator('[data-testid=live-note]')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
  });

  test('an anonymous visitor is asked to log in to buy', async ({ page }) => {
    await page.goto('/');
    await page.locator('[data-testid=sales] .sale-card').first().click();
    await expect(page.getByRole('link', { name: 'Log in to buy' })).toHaveAttribute('href', /\/login\?next=/);
  });
});
