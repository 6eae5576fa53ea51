import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import {
  addAddressAndCard,
  buyAndOpenOrder,
  expectFieldError,
  expectLanded,
  expectLive,
  expectNoFieldError,
  expectNotice,
  field,
  fillFirstPurchase,
  formWith,
  logInAsAdmin,
  openLiveSale,
  otherBrowser,
  signUp,
  submit,
  uniqueUser,
} from './helpers';

// The live layer (issue 12): with JavaScript on, sale widgets tick from the server's clock and
// follow the stock the server pushes, without a reload. With JavaScript off the same pages are
// the server's HTML (every other spec runs there too).

test.skip(({ javaScriptEnabled }) => !javaScriptEnabled, 'the live widgets are the JavaScript layer');

/** `YYYY-MM-DDTHH:MM:SS` (UTC) `ms` from now. */
function utcIn(ms: number): string {
  return new Date(Date.now() + ms).toISOString().slice(0, 19);
}

/** A seeded product with plenty of stock and no flash sale yet (a product's sales may not overlap). */
async function freeProduct(request: APIRequestContext): Promise<number> {
  const res = await request.get('/api/products?sort=newest');
  expect(res.ok()).toBe(true);
  const items: { id: number; stock: number }[] = (await res.json()).page.items;
  for (const item of items.filter((i) => i.stock > 20).sort((a, b) => b.stock - a.stock)) {
    const detail = await (await request.get(`/api/product?id=${item.id}`)).json();
    if (detail.sales.length === 0) return item.id;
  }
  throw new Error('no seeded product without a sale');
}

/** The admin (signed in on `admin`) puts `quantity` units on sale from `startsInMs` from now. */
async function createSale(admin: Page, title: string, quantity: number, startsInMs: number): Promise<number> {
  const request = admin.request;
  const productId = await freeProduct(request);
  const res = await request.post('/api/admin/sales/create', {
    headers: { origin: new URL(admin.url()).origin, accept: 'application/json' },
    form: {
      product_id: String(productId),
      title,
      sale_price: '9.99',
      quantity: String(quantity),
      per_buyer_limit: '1',
      starts_at: utcIn(startsInMs),
      ends_at: utcIn(3_600_000),
    },
  });
  expect(res.status(), await res.text()).toBe(200);
  return Number(await res.json());
}

/** Marks the document; a full navigation or reload loses the mark. */
async function markDocument(page: Page) {
  await page.evaluate(() => ((window as unknown as { __sameDocument?: boolean }).__sameDocument = true));
}
async function expectSameDocument(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
}

test.describe('the live storefront', () => {
  // Several browsers sign up (argon2 on 2 cores) and buy: more than the default 30 s.
  test.slow();

  test('the countdown ticks and the Buy button enables itself when the sale opens', async ({ page, browser }, testInfo) => {
    await logInAsAdmin(page);
    const title = `Opens soon ${testInfo.project.name} ${Date.now()}`;
    const saleId = await createSale(page, title, 3, 8_000);

    const shopper = await otherBrowser(browser, testInfo);
    const s = shopper.page;
    const user = uniqueUser(testInfo, 'live');
    await signUp(s, user);
    await s.goto(`/sales/${saleId}`);
    await markDocument(s);
    const status = s.locator('.buy-box [data-testid=sale-status]');
    const buyNow = s.getByRole('button', { name: 'Buy now', exact: true });
    await expect(status).toHaveText('Upcoming');
    await expect(buyNow).toBeDisabled();

    // It counts down, second by second, from the server's clock.
    const countdown = s.locator('.buy-box [data-testid=countdown]');
    await expect(countdown).toHaveText(/^Starts in \d+ s$/);
    const first = await countdown.textContent();
    await expect(countdown).not.toHaveText(first ?? '', { timeout: 3_000 });

    // At the start time: Live, and the button works, on the same page.
    await expect(status).toHaveText('Live', { timeout: 15_000 });
    await expect(countdown).toHaveText(/^Ends in /);
    await expect(buyNow).toBeEnabled();
    await expectSameDocument(s);

    // Buying keeps the page: the order shows under the form, and the stock falls.
    await fillFirstPurchase(formWith(s, 'Buy now'), user.name);
    await submit(s, 'Buy now');
    await expect(s.getByTestId('buy-result')).toContainText(/^Order #\d+ placed/);
    await expect(s.getByTestId('remaining')).toHaveText('2');
    await expect(buyNow).toBeDisabled();
    await expectSameDocument(s);
    await s.getByTestId('buy-result').getByRole('link', { name: 'See your order', exact: true }).click();
    await expectLanded(s, (url) => /^\/orders\/\d+$/.test(url.pathname));
    await shopper.context.close();
  });

  test('stock on an open page falls when someone else buys, and says Sold out at the end', async ({ page, browser }, testInfo) => {
    await logInAsAdmin(page);
    const title = `Two left ${testInfo.project.name} ${Date.now()}`;
    const saleId = await createSale(page, title, 2, -60_000);

    // A visitor watches the sale page and the home page's card.
    const watcher = await otherBrowser(browser, testInfo);
    const w = watcher.page;
    await w.goto(`/sales/${saleId}`);
    await markDocument(w);
    await expect(w.getByTestId('remaining')).toHaveText('2');
    await expect(w.locator('.buy-box [data-testid=stock-left]')).toHaveText('2 of 2 left');
    const home = await watcher.context.newPage();
    await home.goto('/');
    const card = home.locator('.sale-card').filter({ hasText: title });
    await expect(card.getByTestId('stock-left')).toHaveText('2 of 2 left');

    // Two buyers take both units.
    for (const n of [1, 2]) {
      const buyer = await otherBrowser(browser, testInfo);
      const user = uniqueUser(testInfo, `lb${n}`);
      await signUp(buyer.page, user);
      await buyer.page.goto(`/sales/${saleId}`);
      await fillFirstPurchase(formWith(buyer.page, 'Buy now'), user.name);
      await buyAndOpenOrder(buyer.page, formWith(buyer.page, 'Buy now'));
      await buyer.context.close();
      await expect(w.getByTestId('remaining')).toHaveText(String(2 - n));
    }
    await expect(w.locator('.buy-box [data-testid=sale-status]')).toHaveText('Sold out');
    await expect(w.locator('.buy-box [data-testid=stock-left]')).toHaveText('0 of 2 left');
    await expect(card.getByTestId('sale-status')).toHaveText('Sold out');
    await expectSameDocument(w);
    await watcher.context.close();
  });

  test('staff watch a live sale decide: counts and chart follow the gate without a reload', async ({ page, browser }, testInfo) => {
    await logInAsAdmin(page);
    const title = `Watched ${testInfo.project.name} ${Date.now()}`;
    const saleId = await createSale(page, title, 1, -60_000);
    await page.goto(`/admin/sales/${saleId}`);
    await expectLive(page);
    await markDocument(page);
    const activity = page.locator('#sale-activity');
    await expect(activity.getByTestId('accepted')).toHaveText('0 (0 units)');
    await expect(activity.locator('rect.bar')).toHaveCount(0);
    const dashboard = await page.context().newPage();
    await dashboard.goto('/admin');
    await expectLive(dashboard);
    await markDocument(dashboard);

    // A late buyer (a browser without JavaScript, so the page keeps its Buy button) has the
    // form filled while another buyer takes the only unit; then sends it: sold out.
    const late = await browser.newContext({ baseURL: testInfo.project.use.baseURL, javaScriptEnabled: false });
    const l = await late.newPage();
    const lateUser = uniqueUser(testInfo, 'late');
    await signUp(l, lateUser);
    await l.goto(`/sales/${saleId}`);
    await fillFirstPurchase(formWith(l, 'Buy now'), lateUser.name);
    const first = await otherBrowser(browser, testInfo);
    const firstUser = uniqueUser(testInfo, 'first');
    await signUp(first.page, firstUser);
    await first.page.goto(`/sales/${saleId}`);
    await fillFirstPurchase(formWith(first.page, 'Buy now'), firstUser.name);
    await buyAndOpenOrder(first.page, formWith(first.page, 'Buy now'));
    await submit(l, 'Buy now');
    await expect(l.locator('main')).toContainText('Sold out: every unit has been taken.');

    await expect(activity.getByTestId('accepted')).toHaveText('1 (1 units)');
    await expect(activity.getByTestId('refused-sold-out')).toHaveText('1');
    await expect(activity.locator('rect.bar')).toHaveCount(1);
    await expect(activity.getByTestId('activity-caption')).toContainText('0 left');
    await expectSameDocument(page);
    const row = dashboard.locator('[data-testid=live-sales] tr').filter({ hasText: title });
    await expect(row.getByTestId('remaining')).toHaveText('0');
    await expectSameDocument(dashboard);
    await first.context.close();
    await late.close();
  });

  test('a refusal shows in place, and a double click on Buy now sends one purchase', async ({ page, browser }, testInfo) => {
    await logInAsAdmin(page);
    const saleId = await createSale(page, `Double click ${testInfo.project.name} ${Date.now()}`, 1, -60_000);
    const shopper = await otherBrowser(browser, testInfo);
    const s = shopper.page;
    const user = uniqueUser(testInfo, 'dbl');
    await signUp(s, user);
    let posts = 0;
    s.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/buy') posts += 1;
    });
    await s.goto(`/sales/${saleId}`);
    await expectLive(s);
    await markDocument(s);
    const buy = formWith(s, 'Buy now');
    const buyNow = s.getByRole('button', { name: 'Buy now', exact: true });

    // A card number that fails its check digit: the reason under the form, the form usable again.
    await fillFirstPurchase(buy, user.name);
    await buy.getByLabel('Card number', { exact: true }).fill('4242 4242 4242 4241');
    await buyNow.click();
    await expect(s.getByTestId('buy-result').locator('.form-error')).not.toBeEmpty();
    await expect(buyNow).toBeEnabled();
    expect(posts).toBe(1);

    // The right number, double-clicked: one more request, one order.
    await buy.getByLabel('Card number', { exact: true }).fill('4242 4242 4242 4242');
    await buyNow.dblclick();
    await expect(s.getByTestId('buy-result')).toContainText(/^Order #\d+ placed/);
    await expect(buyNow).toBeDisabled();
    expect(posts).toBe(2);
    await expect(s.getByTestId('remaining')).toHaveText('0');
    await expectSameDocument(s);
    await shopper.context.close();
  });

  test('an order page follows the saga without a reload, from Placed to Delivered', async ({ page }, testInfo) => {
    // Payment takes 12 s and the parcel 25 s more here (playwright.config.ts).
    test.setTimeout(120_000);
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    await signUp(page, uniqueUser(testInfo, 'follow'));
    await addAddressAndCard(page);
    await openLiveSale(page);
    await buyAndOpenOrder(page, formWith(page, 'Buy now'));
    await expectLive(page);
    await markDocument(page);
    await expect(page.getByTestId('live-note')).toHaveText('This page follows your order while it is on its way.');

    const status = page.getByTestId('order-status');
    const timeline = page.locator('[data-testid=timeline-entry] strong');
    await expect(status).toHaveText('Paid', { timeout: 30_000 });
    await expect(timeline).toContainText(['Placed', 'Paid']);
    await expect(status).toHaveText('Shipped', { timeout: 40_000 });
    await expect(status).toHaveText('Delivered', { timeout: 40_000 });
    await expect(timeline).toContainText(['Placed', 'Paid', 'Delivery booked', 'Packed', 'Shipped', 'Delivered']);
    await expect(page.getByTestId('live-note')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
    await expectSameDocument(page);
    expect(problems).toEqual([]);
  });

  test('Cancel order answers in place, and a double click sends one request', async ({ page }, testInfo) => {
    await signUp(page, uniqueUser(testInfo, 'cxl'));
    await addAddressAndCard(page);
    await openLiveSale(page);
    await buyAndOpenOrder(page, formWith(page, 'Buy now'));
    await expectLive(page);
    let posts = 0;
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/orders/cancel') posts += 1;
    });
    await markDocument(page);
    await page.getByRole('button', { name: 'Cancel order' }).dblclick();
    await expect(page.getByTestId('order-status')).toHaveText('Cancelled');
    await expect(page.locator('[data-testid=timeline-entry]').filter({ hasText: 'Cancelled' })).toHaveCount(1);
    await expect(page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
    await expect(page.getByTestId('live-note')).toHaveCount(0);
    expect(posts).toBe(1);
    await expectSameDocument(page);
  });

  test('account, cart and wishlist forms answer in place, field errors included', async ({ page }, testInfo) => {
    const user = uniqueUser(testInfo, 'swap');
    await signUp(page, user);
    await page.goto('/account');
    await expectLive(page);
    await markDocument(page);

    // A field error next to the field, with what was typed kept; then the fix.
    const profile = formWith(page, 'Save profile');
    await field(profile, 'Name').fill('');
    await field(profile, 'Phone').fill('+49 30 1234567');
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await expectFieldError(page, 'name');
    await expect(field(formWith(page, 'Save profile'), 'Phone')).toHaveValue('+49 30 1234567');
    await field(formWith(page, 'Save profile'), 'Name').fill('Renamed Shopper');
    await formWith(page, 'Save profile').getByRole('button', { name: 'Save profile' }).click();
    await expectNotice(page, 'Profile saved.');
    await expectNoFieldError(page, 'name');
    await expect(field(formWith(page, 'Save profile'), 'Name')).toHaveValue('Renamed Shopper');
    await addAddressAndCard(page);
    await expect(page.locator('.address')).toHaveCount(1);
    await expectSameDocument(page);

    // Put a product in the cart and on the wishlist: the product page stays and says so.
    await page.goto('/products');
    await page.locator('.product-card').filter({ has: page.locator('.stock-ok') }).first().click();
    const name = (await page.locator('h1').textContent())!.trim();
    const productUrl = page.url();
    await expectLive(page);
    await markDocument(page);
    await submit(page, 'Add to cart');
    await expect(page.locator('#notices')).toHaveText('Added to your cart.');
    await expectSameDocument(page);
    await page.goto('/cart');
    await expect(page.locator('.cart-line')).toHaveCount(1);
    await expectLive(page);
    await markDocument(page);
    const line = page.locator('.cart-line').filter({ hasText: name });
    await line.getByLabel(`Quantity of ${name}`).fill('3');
    await line.getByRole('button', { name: 'Update' }).click();
    await expect(page.locator('.cart-line').filter({ hasText: name }).locator('input[name=quantity]')).toHaveValue('3');
    await page.locator('.cart-line').filter({ hasText: name }).getByRole('button', { name: 'Remove' }).click();
    await expect(page.getByText('Your cart is empty.')).toBeVisible();
    await expectSameDocument(page);

    await page.goto(productUrl);
    await expectLive(page);
    await submit(page, 'Save to wishlist');
    await expect(page.locator('#notices')).toHaveText('Saved to your wishlist.');
    await page.goto('/wishlist');
    await expect(page.locator('.wish')).toHaveCount(1);
    await expectLive(page);
    await markDocument(page);
    await page.locator('.wish').getByRole('button', { name: 'Remove' }).click();
    await expect(page.getByText('Nothing saved yet.')).toBeVisible();
    await expectSameDocument(page);
  });

  test('no page logs a console error or a hydration warning, and every page goes live', async ({ page, browser }, testInfo) => {
    const problems: string[] = [];
    const wasm: number[] = [];
    let expected404 = '';
    const listen = (p: Page) => {
      p.on('console', (m) => {
        const text = m.text();
        if (expected404 && text.includes('status of 404')) return;
        // Errors of any kind (a Content-Security-Policy violation is one); warnings only
        // from the framework (hydration mismatches, missing islands).
        if (m.type() === 'error' || (m.type() === 'warning' && /hydrat|island|leptos|wasm/i.test(text))) {
          problems.push(`${p.url()}: ${m.type()}: ${text}`);
        }
      });
      p.on('pageerror', (e) => problems.push(`${p.url()}: ${e.message}`));
      p.on('response', (r) => {
        if (r.url().endsWith('.wasm')) wasm.push(r.status());
      });
    };
    const visit = async (p: Page, path: string) => {
      expected404 = path === '/no-such-page' ? path : '';
      await p.goto(path);
      // Set once the client bundle has hydrated the page's islands. When it never is, say
      // what the page logged (a trap in the bundle shows as a page error).
      try {
        await expectLive(p);
      } catch (e) {
        throw new Error(`${path} never went live; logged: ${JSON.stringify(problems)}\n${e}`);
      }
    };

    listen(page);
    await visit(page, '/');
    const saleHref = await page.locator('[data-testid=sales] .sale-card').first().getAttribute('href');
    const productHref = await page.locator('.product-card').first().getAttribute('href');
    for (const path of ['/products', '/products?q=lamp', '/products?tag=home', saleHref!, productHref!, '/login', '/signup', '/no-such-page']) {
      await visit(page, path);
    }
    const user = uniqueUser(testInfo, 'con');
    await signUp(page, user);
    for (const path of ['/account', '/orders', '/cart', '/wishlist', saleHref!]) {
      await visit(page, path);
    }
    const admin = await otherBrowser(browser, testInfo);
    listen(admin.page);
    await logInAsAdmin(admin.page);
    for (const path of ['/admin', '/admin/sales', '/admin/products', '/admin/orders']) {
      await visit(admin.page, path);
    }
    await admin.context.close();
    expect(wasm.length, 'the client bundle was loaded').toBeGreaterThan(0);
    expect(wasm.every((s) => s === 200 || s === 304)).toBe(true);
    expect(problems).toEqual([]);
  });
});
