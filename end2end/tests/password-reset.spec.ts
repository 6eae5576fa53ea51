import { expect, test } from '@playwright/test';
import {
  expectFieldError,
  expectLanded,
  field,
  linkIn,
  mailTo,
  otherBrowser,
  pathIs,
  signUp,
  submit,
  submitLogin,
  uniqueUser,
} from './helpers';

// "Forgot your password?": a link by mail (the development mailbox here), used once; setting
// the new password signs every other browser out. Runs with JavaScript on and off.
test.describe('password reset', () => {
  test('a shopper who forgot the password sets a new one with the mailed link', async ({ page, browser }, testInfo) => {
    const user = uniqueUser(testInfo, 'pw');
    await signUp(page, user);

    const other = await otherBrowser(browser, testInfo);
    const o = other.page;
    await o.goto('/login');
    await o.getByRole('link', { name: 'Forgot your password?' }).click();
    await expectLanded(o, pathIs('/forgot-password'));
    await field(o, 'Email').fill(user.email);
    await submit(o, 'Send the link');
    await expect(o.getByTestId('reset-sent')).toContainText('If an account uses that address');

    const mail = await mailTo(user.email, 'Reset your Flashmart password');
    expect(mail).toContain(`Hello ${user.name},`);
    const link = linkIn(mail, '/reset-password?token=');
    await o.goto(link);
    await field(o, 'New password').fill('short');
    await submit(o, 'Set the new password');
    await expectFieldError(o, 'new_password', '10');
    await field(o, 'New password').fill('A brand new passphrase');
    await submit(o, 'Set the new password');
    await expectLanded(o, pathIs('/account'));
    await expect(o.locator('.notice')).toContainText('New password set');

    // The first browser was signed out; the old password no longer works, the new one does.
    await page.goto('/account');
    await expectLanded(page, pathIs('/login'));
    await submitLogin(page, user.username, user.password);
    await expect(page.locator('.form-error')).toContainText('Wrong email/username or password.');
    await submitLogin(page, user.username, 'A brand new passphrase');
    await expectLanded(page, pathIs('/account'));

    // The link worked once.
    await o.goto(link);
    await expect(o.getByTestId('reset-link-dead')).toBeVisible();
    await other.context.close();
  });
});
