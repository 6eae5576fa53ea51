import { expect, test, type Browser, type Locator, type Page, type TestInfo } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Shared helpers for the account specs. Both projects (js-on, js-off) talk to the
// same server, so every user they create gets a unique email and username.

export interface User {
  email: string;
  username: string;
  password: string;
  name: string;
  phone: string;
}

let counter = 0;

/** A fresh, valid user: unique per project, test run and call. */
export function uniqueUser(testInfo: TestInfo, tag = 'u'): User {
  counter += 1;
  // "js-on" → "json", "js-off" → "jsoff": usernames allow only letters, digits and _.
  const project = testInfo.project.name.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
  const rand = Math.random().toString(36).slice(2, 6).padEnd(4, '0');
  const username = `${tag}_${project}_${Date.now().toString(36)}${rand}${counter}`;
  expect(username, 'generated username breaks the 3–30 letters/digits/_ rule').toMatch(/^[A-Za-z0-9_]{3,30}$/);
  const digits = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
  return {
    email: `${username}@example.com`,
    username,
    password: `Correct-horse-${rand}`,
    name: `Ada ${project} ${rand}`,
    phone: `010${digits}`,
  };
}

/** Matches a URL by its path only (the query string is checked separately where it matters). */
export const pathIs = (path: string) => (url: URL) => url.pathname === path;

/** The site header (the page's banner landmark). */
export function header(page: Page): Locator {
  return page.getByRole('banner');
}

/** The form that holds the submit button with exactly this name. */
export function formWith(page: Page, button: string): Locator {
  return page.locator('form').filter({ has: page.getByRole('button', { name: button, exact: true }) });
}

/** The form control with exactly this label. */
export function field(scope: Page | Locator, label: string): Locator {
  return scope.getByLabel(label, { exact: true });
}

/** Click the submit button with exactly this name. */
export async function submit(scope: Page | Locator, button: string) {
  await scope.getByRole('button', { name: button, exact: true }).click();
}

/**
 * Turn off the browser's built-in constraint validation (type=email, minlength, pattern,
 * required) on every form of the page, so that invalid values reach the server and the
 * server-side rules and error markup are what gets tested. This is not page JavaScript:
 * it works in the js-off project too.
 */
export async function disableNativeValidation(page: Page) {
  await page.locator('form').evaluateAll((forms) => {
    for (const form of forms) (form as HTMLFormElement).noValidate = true;
  });
}

export async function expectSignedOut(page: Page) {
  const h = header(page);
  await expect(h.locator('a[href="/login"]')).toHaveText('Log in');
  await expect(h.locator('a[href="/signup"]')).toHaveText('Sign up');
  await expect(h.getByTestId('user-name')).toHaveCount(0);
  await expect(h.locator('form[action="/api/logout"]')).toHaveCount(0);
}

export async function expectSignedIn(page: Page, name: string) {
  const h = header(page);
  await expect(h.getByTestId('user-name')).toContainText(name);
  await expect(h.getByRole('link', { name: 'My orders', exact: true })).toHaveAttribute('href', '/orders');
  const logout = h.locator('form[method="post" i][action="/api/logout"]');
  await expect(logout).toHaveCount(1);
  await expect(logout.getByRole('button', { name: 'Log out', exact: true })).toBeVisible();
  await expect(h.locator('a[href="/login"]')).toHaveCount(0);
  await expect(h.locator('a[href="/signup"]')).toHaveCount(0);
}

/** Click "Log out" in the header and check the header went back to anonymous. */
export async function logOut(page: Page) {
  await header(page)
    .locator('form[action="/api/logout"]')
    .getByRole('button', { name: 'Log out', exact: true })
    .click();
  await expectSignedOut(page);
}

/** Fill the /signup form (the page must already be open). */
export async function fillSignup(page: Page, user: User) {
  await field(page, 'Email').fill(user.email);
  await field(page, 'Username').fill(user.username);
  await field(page, 'Password').fill(user.password);
  await field(page, 'Name').fill(user.name);
  await field(page, 'Phone (optional)').fill(user.phone);
}

export async function gotoSignup(page: Page) {
  await page.goto('/signup');
  await expect(page.locator('h1')).toHaveText('Create your account');
}

/**
 * Create the account through the UI; ends on /account, signed in, with the email address
 * verified by the mailed code (flash sales need it) unless `verify` is false.
 */
export async function signUp(page: Page, user: User, { verify = true } = {}) {
  await gotoSignup(page);
  await fillSignup(page, user);
  await submit(page, 'Sign up');
  await expectLanded(page, pathIs('/account'));
  await expect(page.locator('h1')).toHaveText('Your account');
  await expectSignedIn(page, user.name);
  if (verify) await verifyEmail(page, user);
}

/** On /account: enters the code signing up mailed (read from the development mailbox). */
export async function verifyEmail(page: Page, user: User) {
  const mail = await mailTo(user.email, 'Your Flashmart code');
  const code = /Your code is (\d{6})\./.exec(mail)?.[1];
  expect(code, `a 6-digit code in:\n${mail}`).toBeTruthy();
  const form = formWith(page, 'Verify');
  await field(form, 'Code').fill(code!);
  await submit(form, 'Verify');
  await expect(page.locator('.notice')).toContainText('Email address verified');
  await expect(page.locator('#account-verify')).toHaveCount(0);
}

const RATE_LIMITED =
  'the server refused with "Too many attempts": run the suite with a high SHOP_AUTH_ATTEMPTS_PER_MINUTE ' +
  '(both projects sign up and log in from 127.0.0.1, far more than the default 10 per minute)';

/** After a submit that must succeed: the URL matches; a rate-limit refusal is named as such. */
export async function expectLanded(page: Page, url: (url: URL) => boolean) {
  await expect(async () => {
    const refused = await page.locator('.form-error').filter({ hasText: 'Too many attempts' }).count();
    expect(refused, RATE_LIMITED).toBe(0);
    expect(url(new URL(page.url())), `unexpected URL ${page.url()}`).toBe(true);
  }).toPass({ timeout: 5_000 });
}

/** Fill and submit the login form of the current page (must be /login). */
export async function submitLogin(page: Page, login: string, password: string) {
  await expect(page.locator('h1')).toHaveText('Log in');
  await field(page, 'Email or username').fill(login);
  await field(page, 'Password').fill(password);
  await submit(page, 'Log in');
}

/** A `.notice` with this text is visible. */
export async function expectNotice(page: Page, text: string) {
  await expect(page.locator('.notice').filter({ hasText: text })).toBeVisible();
}

/** `#<name>-error.field-error` is shown (with `text` if given) and the input is aria-invalid. */
export async function expectFieldError(page: Page, name: string, text?: string) {
  const error = page.locator(`#${name}-error`);
  await expect(error).toBeVisible();
  await expect(error).toHaveClass(/(^|\s)field-error(\s|$)/);
  if (text) await expect(error).toContainText(text);
  else await expect(error).toHaveText(/\S/);
  await expect(page.locator(`[name="${name}"]`)).toHaveAttribute('aria-invalid', 'true');
}

/** The input is not marked invalid. */
export async function expectNoFieldError(page: Page, name: string) {
  await expect(page.locator(`[name="${name}"]`)).not.toHaveAttribute('aria-invalid', 'true');
}

/** Adds a shipping address and a card on /account (right after sign-up). */
export async function addAddressAndCard(page: Page, card = '4242 4242 4242 4242', zip = '10115') {
  const address = formWith(page, 'Add address');
  await field(address, 'Street').fill('12 Market Street');
  await field(address, 'ZIP code').fill(zip);
  await submit(address, 'Add address');
  await expect(page.locator('.notice')).toContainText('Address added');
  const form = formWith(page, 'Add card');
  await field(form, 'Card number').fill(card);
  await field(form, 'Expiry (MM/YY)').fill('12/39');
  await submit(form, 'Add card');
  await expect(page.locator('.notice')).toContainText('Card added');
}

/**
 * Opens the seeded live sale (100 units, 2 per buyer) from the home page. Not just the first
 * live card: sales that other specs create (a few units each, asserted exactly) go live on the
 * home page while specs run in parallel, and a purchase here must never take their stock.
 */
export const DEMO_SALE = 'Midnight Flash: studio sound';
export async function openLiveSale(page: Page) {
  await page.goto('/');
  await page
    .locator('[data-testid=sales] .sale-card')
    .filter({ hasText: DEMO_SALE })
    .filter({ has: page.locator('[data-testid=sale-status]', { hasText: 'Live' }) })
    .first()
    .click();
  await expect(page.locator('[data-testid=sale-status]')).toHaveText('Live');
}

// ------------------------------------------------------------------ admin and other browsers

export const ADMIN_EMAIL = 'admin@flashmart.local';

/** The seeded demo admin's password (written by the server into its data directory). */
function adminPassword(): string {
  const dir = process.env.SHOP_E2E_DATA_DIR;
  if (!dir) throw new Error('SHOP_E2E_DATA_DIR is not set (playwright.config.ts sets it)');
  return readFileSync(join(dir, 'admin-password.txt'), 'utf8').trim();
}

export async function logInAsAdmin(page: Page) {
  await page.goto('/login?next=%2Fadmin');
  await submitLogin(page, ADMIN_EMAIL, adminPassword());
  await expectLanded(page, pathIs('/admin'));
  await expect(page.locator('h1')).toHaveText('Dashboard');
}

/** With JavaScript: the bundle has hydrated this page's islands (`lib.rs::hydrate` marks it). */
export async function expectLive(page: Page) {
  await expect(page.locator('html[data-live=ready]')).toHaveCount(1, { timeout: 10_000 });
}

/** Another browser (a shopper), with the same JavaScript setting as this project. */
export async function otherBrowser(browser: Browser, testInfo: TestInfo) {
  const context = await browser.newContext({
    baseURL: testInfo.project.use.baseURL,
    javaScriptEnabled: testInfo.project.use.javaScriptEnabled,
  });
  return { context, page: await context.newPage() };
}


/** Type a first-time buyer's address and card into a sale's Buy form. */
export async function fillFirstPurchase(buy: Locator, name: string) {
  await field(buy, 'Receiver').fill(name);
  await field(buy, 'Street').fill('1 Admin Way');
  await field(buy, 'ZIP code').fill('10115');
  await field(buy, 'Card holder').fill(name);
  await field(buy, 'Card number').fill('4242 4242 4242 4242');
  await field(buy, 'Expiry (MM/YY)').fill('12/39');
}

/**
 * Click "Buy now" in a sale's Buy form and open the order it placed; returns the order's id.
 * With JavaScript the purchase is made without leaving the page (the order's number and link
 * show under the form); without, the form's answer is the order's page.
 */
export async function buyAndOpenOrder(page: Page, buy: Locator): Promise<string> {
  const js = test.info().project.use.javaScriptEnabled;
  // A click before the Buy island hydrates is a plain form post (the order's page, as
  // without JavaScript): wait for the page to be live so the in-place answer is what we test.
  if (js) await expectLive(page);
  await submit(buy, 'Buy now');
  if (js) {
    const result = page.getByTestId('buy-result');
    await expect(result).toContainText(/^Order #\d+ placed/);
    await result.getByRole('link', { name: 'See your order', exact: true }).click();
  }
  await expectLanded(page, (url) => /^\/orders\/\d+$/.test(url.pathname));
  return new URL(page.url()).pathname.split('/').pop()!;
}

// ------------------------------------------------------------------ the development mailbox

/** The plain-text part of a raw RFC 5322 message, decoded (quoted-printable, base64 or 7/8 bit). */
function plainText(raw: string): string {
  const parts = raw.split(/\r?\n--[^\r\n]+/);
  for (const part of parts) {
    const [head, ...rest] = part.split(/\r?\n\r?\n/);
    if (!/content-type:\s*text\/plain/i.test(head)) continue;
    const body = rest.join('\n\n');
    if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
      const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    if (/content-transfer-encoding:\s*base64/i.test(head)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    return body;
  }
  throw new Error('no text/plain part in the mail');
}

/**
 * The newest mail to `to` whose subject starts with `subject` in the shop's development mailbox
 * (`<data dir>/mail/*.eml`: the server writes mail there without SHOP_SMTP_URL), as plain
 * text; waits for it to arrive.
 */
export async function mailTo(to: string, subject: string): Promise<string> {
  const dir = join(process.env.SHOP_E2E_DATA_DIR!, 'mail');
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const addressed = new RegExp(`^To: .*${escape(to)}`, 'im');
  const titled = new RegExp(`^Subject: ${escape(subject)}`, 'im');
  let found = '';
  await expect(async () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().reverse();
    const raw = files.map((f) => readFileSync(join(dir, f), 'utf8')).find((m) => addressed.test(m) && titled.test(m));
    expect(raw, `a mail to ${to} about "${subject}" in ${dir}`).toBeTruthy();
    found = plainText(raw!);
  }).toPass({ timeout: 15_000 });
  return found;
}

/** The first link in a mail's text that contains `path` (e.g. `/reset-password?token=`), as a path. */
export function linkIn(text: string, path: string): string {
  const url = text.split(/\s+/).find((w) => w.includes(path));
  if (!url) throw new Error(`no ${path} link in:\n${text}`);
  const u = new URL(url);
  return u.pathname + u.search;
}
