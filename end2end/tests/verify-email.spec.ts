import { expect, test } from '@playwright/test';
import { DEMO_SALE, linkIn, mailTo, openLiveSale, signUp, submit, uniqueUser } from './helpers';

// A new account's address is verified by mail before it may buy in a flash sale; browsing is
// not held back. Runs with JavaScript on and off.
test.describe('email verification', () => {
  test('a new shopper is asked to verify before a flash sale, and the mailed link does it', async ({ page }, testInfo) => {
    const user = uniqueUser(testInfo, 'vf');
    await signUp(page, user, { verify: false });
    await expect(page.locator('#account-verify h2')).toHaveText('Verify your email address');

    // The sale page says why there is no Buy form.
    await openLiveSale(page);
    await expect(page.getByTestId('verify-to-buy')).toContainText('Verify your email address to buy in a flash sale');
    await expect(page.getByRole('button', { name: 'Buy now', exact: true })).toHaveCount(0);

    // The mailed link's page confirms with a button (opening it changes nothing).
    const mail = await mailTo(user.email, 'Your Flashmart code');
    await page.goto(linkIn(mail, '/verify-email?token='));
    await submit(page, 'Verify my email address');
    await expect(page.locator('.notice')).toContainText('Email address verified');
    await expect(page.locator('#account-verify')).toHaveCount(0);

    await openLiveSale(page);
    await expect(page.locator('h1')).toContainText(DEMO_SALE);
    await expect(page.getByTestId('verify-to-buy')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Buy now', exact: true })).toHaveCount(1);
  });
});
