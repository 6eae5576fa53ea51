import { expect, test } from '@playwright/test';
import {
  addAddressAndCard,
  buyAndOpenOrder,
  expectNotice,
  formWith,
  logInAsAdmin,
  mailTo,
  openLiveSale,
  otherBrowser,
  signUp,
  submit,
  uniqueUser,
} from './helpers';

// A return after delivery, as the buyer and the staff see it, with JavaScript on (forms answer
// in place) and off (plain posts): the buyer asks on the order page, a wrong form keeps what
// was typed, staff approve on the admin order page, the refund arrives by mail.
test.describe('returns', () => {
  test('a delivered order is returned, approved and refunded', async ({ page, browser }, testInfo) => {
    test.setTimeout(150_000);
    const user = uniqueUser(testInfo, 'r');
    await signUp(page, user);
    await addAddressAndCard(page);
    await openLiveSale(page);
    const orderId = await buyAndOpenOrder(page, formWith(page, 'Buy now'));
    // Payment 12 s, delivery 25 s after dispatch here (playwright.config.ts).
    await expect(page.locator('[data-testid=order-status]')).toHaveText('Delivered', { timeout: 90_000 });

    const form = formWith(page, 'Request a return');
    await expect(page.getByTestId('return-until')).toContainText('You can return this order until');
    // No reason: the field says so, and the quantity typed is kept.
    const qty = form.locator('input[type=number]').first();
    await qty.fill('1');
    await submit(form, 'Request a return');
    await expect(page.locator('#reason-error')).toContainText('Tell us why');
    await expect(formWith(page, 'Request a return').locator('input[type=number]').first()).toHaveValue('1');

    const again = formWith(page, 'Request a return');
    await again.getByLabel('Why are you returning it?').fill('The <b>colour</b> is not as pictured');
    await submit(again, 'Request a return');
    await expectNotice(page, 'Return requested');
    await expect(page.getByTestId('return-status')).toHaveText('Return requested');
    await expect(page.getByTestId('return-reason')).toHaveText('The <b>colour</b> is not as pictured');
    await expect(page.getByRole('button', { name: 'Request a return' })).toHaveCount(0);
    expect(await mailTo(user.email, `Return requested for order #${orderId}`)).toContain('1 ×');

    // Staff find it in the queue and approve it.
    const staff = await otherBrowser(browser, testInfo);
    try {
      await logInAsAdmin(staff.page);
      await staff.page.goto('/admin/returns?status=REQUESTED');
      await staff.page.locator('tr.return-row').filter({ hasText: `#${orderId}` }).getByRole('link').click();
      await expect(staff.page.getByTestId('return-reason')).toHaveText('The <b>colour</b> is not as pictured');
      await submit(staff.page, 'Approve: refund and restock');
      await expectNotice(staff.page, 'Return approved');
      await expect(staff.page.getByRole('button', { name: 'Refuse the return' })).toHaveCount(0);
    } finally {
      await staff.context.close();
    }

    // The payment worker refunds it (the simulated provider takes 12 s here); the buyer sees it
    // on the order page and gets the mail.
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId('return-status')).toHaveText('Refunded', { timeout: 1_000 });
    }).toPass({ timeout: 45_000 });
    expect(await mailTo(user.email, `Refund sent for order #${orderId}`)).toContain('We refunded');
    await expect(page.locator('[data-testid=timeline-entry] strong')).toContainText([
      'Return requested',
      'Return approved',
    ]);
  });
});
