import { test, expect, type Page } from '@playwright/test';
import {
  type User,
  disableNativeValidation,
  expectFieldError,
  expectLanded,
  expectNoFieldError,
  expectNotice,
  expectSignedIn,
  expectSignedOut,
  field,
  fillSignup,
  formWith,
  gotoSignup,
  header,
  logOut,
  pathIs,
  signUp,
  submit,
  submitLogin,
  uniqueUser,
} from './helpers';

/** After a rejected sign-up: still signed out, everything but the password kept. */
async function expectSignupKept(page: Page, user: User) {
  await expect(page).not.toHaveURL(pathIs('/account'));
  await expect(page.locator('h1')).toHaveText('Create your account');
  await expect(page.locator('input[name="email"]')).toHaveValue(user.email);
  await expect(page.locator('input[name="username"]')).toHaveValue(user.username);
  await expect(page.locator('input[name="name"]')).toHaveValue(user.name);
  await expect(page.locator('input[name="phone"]')).toHaveValue(user.phone);
  await expect(page.locator('input[name="password"]')).toHaveValue('');
  expect(decodeURIComponent(page.url().replace(/\+/g, ' ')), 'the password must not travel in the URL').not.toContain(
    user.password,
  );
  await expectSignedOut(page);
}

test.describe('accounts: sign up, log in, log out', () => {
  test('sign up lands on /account signed in; log out; log in with username, then with email', async ({
    page,
  }, testInfo) => {
    const user = uniqueUser(testInfo);

    await page.goto('/');
    await expectSignedOut(page);

    await header(page).locator('a[href="/signup"]').click();
    await expect(page).toHaveURL(pathIs('/signup'));
    await expect(page.locator('h1')).toHaveText('Create your account');
    await expect(field(page, 'Email')).toHaveAttribute('name', 'email');
    await expect(field(page, 'Username')).toHaveAttribute('name', 'username');
    await expect(field(page, 'Password')).toHaveAttribute('name', 'password');
    await expect(field(page, 'Password')).toHaveAttribute('type', 'password');
    await expect(field(page, 'Name')).toHaveAttribute('name', 'name');
    await expect(field(page, 'Phone (optional)')).toHaveAttribute('name', 'phone');

    await fillSignup(page, user);
    await submit(page, 'Sign up');
    await expectLanded(page, pathIs('/account'));
    await expect(page.locator('h1')).toHaveText('Your account');
    await expectSignedIn(page, user.name);

    await logOut(page);
    // The session is really gone, not just hidden in the header.
    await page.goto('/account');
    await expect(page).toHaveURL(pathIs('/login'));

    // Log in with the username: no `next`, so back to the home page.
    await page.goto('/');
    await header(page).locator('a[href="/login"]').click();
    await expect(page).toHaveURL(pathIs('/login'));
    await expect(field(page, 'Email or username')).toHaveAttribute('name', 'login');
    await expect(field(page, 'Password')).toHaveAttribute('name', 'password');
    await submitLogin(page, user.username, user.password);
    await expectLanded(page, (url) => url.pathname === '/' && url.search === '');
    await expectSignedIn(page, user.name);

    await logOut(page);

    // Log in with the email.
    await page.goto('/login');
    await submitLogin(page, user.email, user.password);
    await expectLanded(page, (url) => url.pathname === '/' && url.search === '');
    await expectSignedIn(page, user.name);
  });

  test('a wrong password shows an error, keeps the login, empties the password; the right one works', async ({
    page,
  }, testInfo) => {
    const user = uniqueUser(testInfo);
    await signUp(page, user);
    await page.context().clearCookies();

    await page.goto('/login');
    await submitLogin(page, user.username, 'Not-the-password-1');

    const error = page.locator('.form-error');
    await expect(error).toBeVisible();
    await expect(error).toHaveAttribute('role', 'alert');
    await expect(error).toContainText('Wrong email/username or password');
    // A failed post is answered by the login form itself (status 401, see README "HTTP API"),
    // so nothing typed ever lands in a URL.
    expect(page.url()).not.toContain(user.username);
    expect(page.url()).not.toContain('Not-the-password-1');
    await expect(page.locator('h1')).toHaveText('Log in');
    await expect(page.locator('input[name="login"]')).toHaveValue(user.username);
    await expect(page.locator('input[name="password"]')).toHaveValue('');
    await expectSignedOut(page);

    // An unknown login gets the very same message.
    await submitLogin(page, `nobody_${user.username}`.slice(0, 30), user.password);
    // The old page already shows the error; the emptied password tells the new page apart.
    await expect(page.locator('input[name="password"]')).toHaveValue('');
    await expect(page.locator('.form-error')).toContainText('Wrong email/username or password');
    await expect(page.locator('input[name="login"]')).toHaveValue(`nobody_${user.username}`.slice(0, 30));
    await expectSignedOut(page);

    await submitLogin(page, user.username, user.password);
    await expectLanded(page, (url) => url.pathname === '/' && url.search === '');
    await expectSignedIn(page, user.name);
  });
});

test.describe('accounts: sign-up validation', () => {
  test('a badly formed email is rejected with a field error; values kept, password emptied', async ({
    page,
  }, testInfo) => {
    const user = { ...uniqueUser(testInfo), email: 'not-an-email' };
    await gotoSignup(page);
    await disableNativeValidation(page);
    await fillSignup(page, user);
    await submit(page, 'Sign up');

    await expectFieldError(page, 'email');
    await expectSignupKept(page, user);
    await expectNoFieldError(page, 'username');
    await expectNoFieldError(page, 'password');
  });

  test('a password shorter than 10 characters is rejected with a field error', async ({ page }, testInfo) => {
    const user = { ...uniqueUser(testInfo), password: 'Abcdefg1!' }; // 9 characters
    await gotoSignup(page);
    await disableNativeValidation(page);
    await fillSignup(page, user);
    await submit(page, 'Sign up');

    await expectFieldError(page, 'password');
    await expectSignupKept(page, user);
    await expectNoFieldError(page, 'email');
    await expectNoFieldError(page, 'username');
  });

  test('a password equal to the username or to the email is rejected', async ({ page }, testInfo) => {
    const user = uniqueUser(testInfo);
    await gotoSignup(page);
    await disableNativeValidation(page);
    await fillSignup(page, { ...user, password: user.username });
    await submit(page, 'Sign up');
    await expectFieldError(page, 'password');
    await expectSignupKept(page, user);

    // Resubmit from the error page with the email as the password.
    await disableNativeValidation(page);
    await page.locator('input[name="password"]').fill(user.email);
    await submit(page, 'Sign up');
    await expect(page.locator('input[name="password"]')).toHaveValue('');
    await expectFieldError(page, 'password');
    await expectSignupKept(page, user);

    // And with a proper password it goes through.
    await page.locator('input[name="password"]').fill(user.password);
    await submit(page, 'Sign up');
    await expectLanded(page, pathIs('/account'));
    await expectSignedIn(page, user.name);
  });

  test('a username or email that is already registered is rejected', async ({ page }, testInfo) => {
    const existing = uniqueUser(testInfo, 'a');
    await signUp(page, existing);
    await page.context().clearCookies();

    const fresh = uniqueUser(testInfo, 'b');

    // Same username, new email.
    const sameUsername = { ...fresh, username: existing.username };
    await gotoSignup(page);
    await fillSignup(page, sameUsername);
    await submit(page, 'Sign up');
    await expectFieldError(page, 'username', 'already registered');
    await expectSignupKept(page, sameUsername);
    await expectNoFieldError(page, 'email');

    // Same email, new username.
    const sameEmail = { ...fresh, email: existing.email };
    await page.locator('input[name="email"]').fill(sameEmail.email);
    await page.locator('input[name="username"]').fill(sameEmail.username);
    await page.locator('input[name="password"]').fill(sameEmail.password);
    await submit(page, 'Sign up');
    await expectFieldError(page, 'email', 'already registered');
    await expectSignupKept(page, sameEmail);
    await expectNoFieldError(page, 'username');

    // Both new: accepted.
    await page.locator('input[name="email"]').fill(fresh.email);
    await page.locator('input[name="password"]').fill(fresh.password);
    await submit(page, 'Sign up');
    await expectLanded(page, pathIs('/account'));
    await expectSignedIn(page, fresh.name);
  });
});

test.describe('accounts: /account', () => {
  test('an anonymous visit redirects to /login?next=/account and logging in comes back', async ({
    page,
  }, testInfo) => {
    const user = uniqueUser(testInfo);
    await signUp(page, user);
    await page.context().clearCookies();

    // The raw HTTP answer is a redirect to /login?next=%2Faccount.
    const raw = await page.request.get('/account', { maxRedirects: 0 });
    expect([301, 302, 303, 307, 308], `GET /account answered ${raw.status()}`).toContain(raw.status());
    const location = new URL(raw.headers()['location'] ?? '', page.url());
    expect(location.pathname).toBe('/login');
    expect(location.searchParams.get('next')).toBe('/account');

    await page.goto('/account');
    await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/account');
    await expect(page.locator('h1')).toHaveText('Log in');
    await expectSignedOut(page);

    await submitLogin(page, user.email, user.password);
    await expectLanded(page, pathIs('/account'));
    await expect(page.locator('h1')).toHaveText('Your account');
    await expectSignedIn(page, user.name);
  });

  test('editing the profile (name and phone) is saved and survives a reload', async ({ page }, testInfo) => {
    const user = uniqueUser(testInfo);
    await signUp(page, user);

    const profile = formWith(page, 'Save profile');
    await expect(field(profile, 'Name'), 'the profile form shows the current name').toHaveValue(user.name);
    await expect(field(profile, 'Name')).toHaveAttribute('name', 'name');
    await expect(field(profile, 'Phone')).toHaveAttribute('name', 'phone');

    const newName = `Grace ${user.username.slice(-6)}`;
    const newPhone = `020${user.phone.slice(-8)}`;
    await field(profile, 'Name').fill(newName);
    await field(profile, 'Phone').fill(newPhone);
    await submit(profile, 'Save profile');

    await expectNotice(page, 'Profile saved');
    await expect(header(page).getByTestId('user-name')).toContainText(newName);
    await expect(field(profile, 'Name')).toHaveValue(newName);
    await expect(field(profile, 'Phone')).toHaveValue(newPhone);

    await page.reload();
    await expect(page.locator('h1')).toHaveText('Your account');
    await expect(field(profile, 'Name')).toHaveValue(newName);
    await expect(field(profile, 'Phone')).toHaveValue(newPhone);
    await expectSignedIn(page, newName);

    await page.goto('/');
    await expectSignedIn(page, newName);
  });

  test('changing the password checks the current one; afterwards only the new one logs in', async ({
    page,
  }, testInfo) => {
    const user = uniqueUser(testInfo);
    await signUp(page, user);
    const newPassword = `${user.password}-new`;

    const form = formWith(page, 'Change password');
    await expect(field(form, 'Current password')).toHaveAttribute('name', 'current_password');
    await expect(field(form, 'New password')).toHaveAttribute('name', 'new_password');

    await field(form, 'Current password').fill('Not-the-password-1');
    await field(form, 'New password').fill(newPassword);
    await submit(form, 'Change password');
    await expectFieldError(page, 'current_password', 'not your current password');

    await field(form, 'Current password').fill(user.password);
    await field(form, 'New password').fill(newPassword);
    await submit(form, 'Change password');
    await expectNotice(page, 'Password changed');
    await expect(page.locator('#current_password-error')).toHaveCount(0);

    await page.context().clearCookies();
    await page.goto('/login');
    await submitLogin(page, user.username, user.password);
    await expect(page.locator('.form-error')).toContainText('Wrong email/username or password');
    await submitLogin(page, user.username, newPassword);
    await expectLanded(page, (url) => url.pathname === '/' && url.search === '');
    await expectSignedIn(page, user.name);
  });

  test('addresses: the first is Main, a new main one takes over; a card shows only its last four digits', async ({
    page,
  }, testInfo) => {
    const user = uniqueUser(testInfo);
    await signUp(page, user);

    const addresses = page.locator('.address');
    const mainBadges = page.locator('.badge').filter({ hasText: /^\s*Main\s*$/ });
    await expect(addresses).toHaveCount(0);
    await expect(page.locator('.payment-method')).toHaveCount(0);

    const addForm = formWith(page, 'Add address');
    await expect(field(addForm, 'Receiver')).toHaveAttribute('name', 'receiver');
    await expect(field(addForm, 'Street')).toHaveAttribute('name', 'street');
    await expect(field(addForm, 'Detail (optional)')).toHaveAttribute('name', 'detail');
    await expect(field(addForm, 'ZIP code')).toHaveAttribute('name', 'zip');
    // Soft: a broken label is reported, and the rest still runs through the name attribute.
    await expect.soft(field(addForm, 'Make this my main address'), 'the checkbox is labelled').toHaveAttribute(
      'name',
      'main',
    );
    const mainBox = addForm.locator('input[type="checkbox"][name="main"]');
    await expect(mainBox).toHaveAttribute('value', 'true');

    const first = { receiver: 'Alice Firstaddr', street: '1 First Street', detail: 'Apt 101', zip: '10001' };
    const second = { receiver: 'Bob Secondaddr', street: '22 Second Avenue', detail: '', zip: '20002' };
    const third = { receiver: 'Carol Thirdaddr', street: '333 Third Road', detail: 'Unit 3', zip: '30003' };

    async function addAddress(a: typeof first, main: boolean) {
      await field(addForm, 'Receiver').fill(a.receiver);
      await field(addForm, 'Street').fill(a.street);
      await field(addForm, 'Detail (optional)').fill(a.detail);
      await field(addForm, 'ZIP code').fill(a.zip);
      await mainBox.setChecked(main);
      await submit(addForm, 'Add address');
      await expectNotice(page, 'Address added');
    }
    const card = (a: typeof first) => addresses.filter({ hasText: a.receiver });

    // First address, "main" not ticked: it is the main one anyway.
    await addAddress(first, false);
    await expect(addresses).toHaveCount(1);
    await expect(card(first)).toContainText(first.street);
    await expect(card(first)).toContainText(first.zip);
    await expect(card(first).locator('.badge')).toHaveText(/^\s*Main\s*$/);
    await expect(mainBadges).toHaveCount(1);

    // Second address, ticked as main: it takes over.
    await addAddress(second, true);
    await expect(addresses).toHaveCount(2);
    await expect(card(second)).toContainText(second.street);
    await expect(card(second)).toContainText(second.zip);
    await expect(card(second).locator('.badge').filter({ hasText: 'Main' })).toHaveCount(1);
    await expect(card(first).locator('.badge').filter({ hasText: 'Main' })).toHaveCount(0);
    await expect(mainBadges).toHaveCount(1);

    // Third address, not ticked: the main one stays.
    await addAddress(third, false);
    await expect(addresses).toHaveCount(3);
    await expect(card(second).locator('.badge').filter({ hasText: 'Main' })).toHaveCount(1);
    await expect(card(third).locator('.badge').filter({ hasText: 'Main' })).toHaveCount(0);
    await expect(mainBadges).toHaveCount(1);

    // A card.
    const cardForm = formWith(page, 'Add card');
    await expect(field(cardForm, 'Card holder')).toHaveAttribute('name', 'holder');
    await expect(field(cardForm, 'Card number')).toHaveAttribute('name', 'number');
    await expect(field(cardForm, 'Expiry (MM/YY)')).toHaveAttribute('name', 'expiry');
    await field(cardForm, 'Card holder').fill(user.name);
    await field(cardForm, 'Card number').fill('4242 4242 4242 4242');
    await field(cardForm, 'Expiry (MM/YY)').fill('12/30');
    await submit(cardForm, 'Add card');
    await expectNotice(page, 'Card added');

    const methods = page.locator('.payment-method');
    await expect(methods).toHaveCount(1);
    await expect(methods).toContainText('•••• 4242');

    const fullNumbers = ['4242424242424242', '4242 4242 4242 4242'];
    const urlDigits = decodeURIComponent(page.url()).replace(/[^0-9]/g, '');
    expect(urlDigits, 'the card number must not travel in the URL').not.toContain(fullNumbers[0]);
    const dom = await page.content();
    const served = await (await page.request.get('/account')).text();
    expect(served, 'GET /account did not serve the account page').toContain('Your account');
    for (const number of fullNumbers) {
      expect(dom, `the page DOM contains the full card number ${number}`).not.toContain(number);
      expect(served, `the served /account HTML contains the full card number ${number}`).not.toContain(number);
    }

    // Everything is still there after a reload.
    await page.reload();
    await expect(addresses).toHaveCount(3);
    await expect(mainBadges).toHaveCount(1);
    await expect(card(second).locator('.badge').filter({ hasText: 'Main' })).toHaveCount(1);
    await expect(methods).toHaveCount(1);
    await expect(methods).toContainText('•••• 4242');
  });
});
