import { expect, test } from '@playwright/test';
import { ADMIN_EMAIL, buyAndOpenOrder, expectLanded, field, fillFirstPurchase, formWith, logInAsAdmin, otherBrowser, pathIs, signUp, submit, uniqueUser } from './helpers';

// The admin runs a flash sale in the browser, with JavaScript on and off: creates a product
// (with an uploaded picture), puts it on sale, a shopper sees it and buys, the admin finds the
// order, cancels it, and the audit log tells who did what.

/** A 2×2 PNG, built here so the spec needs no fixture files. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGM4EaABRAwQCgAljgUBqTNxyAAAAABJRU5ErkJggg==',
  'base64',
);

/** `YYYY-MM-DDTHH:MM` (UTC) plus some hours. */
function plusHours(value: string, hours: number): string {
  const t = new Date(`${value}:00Z`).getTime() + hours * 3_600_000;
  return new Date(t).toISOString().slice(0, 16);
}

test.describe('admin', () => {
  test('an admin creates a product and a flash sale, a shopper buys, the admin cancels', async ({ page, browser }, testInfo) => {
    // One long journey (two browsers, a signup with a real password hash, ~25 page loads).
    test.setTimeout(90_000);
    const tag = `${testInfo.project.name.replace(/[^a-z]/g, '')}${Date.now().toString(36)}`;
    const productName = `Admin Lamp ${tag}`;
    const saleTitle = `Admin Drop ${tag}`;
    await logInAsAdmin(page);

    // A new product, with a validation round trip first.
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Products' }).click();
    await page.getByRole('link', { name: 'New product' }).click();
    await expect(page.locator('h1')).toHaveText('New product');
    const form = formWith(page, 'Create product');
    await field(form, 'Name').fill(productName);
    await field(form, 'Description').fill('Made for the admin spec.');
    await field(form, 'Price').fill('80.0.0');
    await field(form, 'Stock').fill('25');
    await field(form, 'Tags').fill('lighting, e2e-admin');
    await submit(form, 'Create product');
    await expect(page.locator('#price-error')).toHaveText('Enter a price like 12.50 (0 or more).');
    await expect(field(page, 'Name')).toHaveValue(productName);
    await field(page, 'Price').fill('80.00');
    await submit(page, 'Create product');
    await expectLanded(page, (url) => /^\/admin\/products\/\d+$/.test(url.pathname));
    await expect(page.locator('.notice')).toHaveText('Product created.');
    await expect(page.locator('h1')).toHaveText(productName);
    const productPath = new URL(page.url()).pathname;

    // Its picture: a plain multipart form.
    await page.locator('#image').setInputFiles({ name: 'lamp.png', mimeType: 'image/png', buffer: PNG });
    await submit(page, 'Upload image');
    await expect(page.locator('.notice')).toHaveText('Image uploaded.');
    await expect(page.locator('.admin-images img')).toHaveCount(1);

    // On sale from now for three hours; too many units first.
    await page.getByRole('link', { name: 'New flash sale for this product' }).click();
    await expect(page.locator('h1')).toHaveText('New flash sale');
    await expect(page.locator('#product_id option:checked')).toContainText(productName);
    const sale = formWith(page, 'Create flash sale');
    await field(sale, 'Title').fill(saleTitle);
    await field(sale, 'Sale price').fill('40.00');
    await field(sale, 'Quantity').fill('99');
    await field(sale, 'Limit per buyer').fill('1');
    const start = await field(sale, 'Starts (UTC)').inputValue();
    await field(sale, 'Ends (UTC)').fill(plusHours(start, 3));
    await submit(sale, 'Create flash sale');
    await expect(page.locator('#quantity-error')).toContainText('Only 25 units are free');
    await expect(field(page, 'Title')).toHaveValue(saleTitle);
    await field(page, 'Quantity').fill('5');
    await submit(page, 'Create flash sale');
    await expectLanded(page, (url) => /^\/admin\/sales\/\d+$/.test(url.pathname));
    await expect(page.locator('.notice')).toContainText('Flash sale created');
    await expect(page.getByTestId('sale-status')).toHaveText('Live');
    const saleId = new URL(page.url()).pathname.split('/').pop();

    // A shopper sees it: on the home page, on its page, and in search.
    const shopper = await otherBrowser(browser, testInfo);
    const s = shopper.page;
    await s.goto('/');
    const card = s.getByTestId('sales').locator('.sale-card').filter({ hasText: saleTitle });
    await expect(card).toBeVisible();
    await expect(card.getByTestId('sale-status')).toHaveText('Live');
    await s.goto(`/products?q=${encodeURIComponent(productName)}`);
    await expect(s.locator('.product-card .product-name')).toHaveText([productName]);
    await expect(s.locator('.product-card img')).toHaveAttribute('src', /^\/media\/uploads\/[0-9a-f]{32}-thumb\.jpg$/);
    await s.goto(`/sales/${saleId}`);
    await expect(s.locator('h1')).toHaveText(saleTitle);
    await expect(s.getByTestId('price')).toHaveText('$40.00');
    await expect(s.getByTestId('remaining')).toHaveText('5');

    // … and buys one (address and card typed into the buy form).
    const buyerUser = uniqueUser(testInfo, 'a');
    await signUp(s, buyerUser);
    await s.goto(`/sales/${saleId}`);
    const buy = formWith(s, 'Buy now');
    await fillFirstPurchase(buy, buyerUser.name);
    const orderId = await buyAndOpenOrder(s, buy);

    // The admin sees the sale move, finds the order by its buyer and cancels it.
    await page.reload();
    await expect(page.getByTestId('sold')).toHaveText('1');
    await expect(page.getByTestId('remaining')).toHaveText('4');
    await page.goto(`/admin/orders?buyer=${encodeURIComponent(buyerUser.email)}`);
    await expect(page.locator('.order-row')).toHaveCount(1);
    await page.locator('.order-row').getByRole('link', { name: `#${orderId}` }).click();
    await expect(page.locator('h1')).toHaveText(`Order #${orderId}`);
    // The saga workers run in this server: the payment takes 12 s here, so the order is
    // still cancellable (if it was paid already, it is refunded).
    await expect(page.getByTestId('order-status')).toHaveText(/^(Placed|Paid)$/);
    await expect(page.getByTestId('timeline').locator('li strong').first()).toHaveText('PENDING');
    await expect(page.getByTestId('timeline').locator('.payload').first()).toContainText(`"event_id":"order.placed:${orderId}"`);
    await page.getByRole('button', { name: /^(Cancel order|Cancel and refund)$/ }).click();
    await expect(page.locator('.notice')).toContainText('Order cancelled');
    await expect(page.getByTestId('order-status')).toHaveText('Cancelled');
    await expect(page.getByRole('button', { name: /^(Cancel order|Cancel and refund)$/ })).toHaveCount(0);

    // The shopper sees it cancelled; the unit is back on sale.
    await s.reload();
    await expect(s.getByTestId('order-status')).toHaveText('Cancelled');
    await expect(s.getByTestId('timeline-entry').filter({ hasText: /Cancelled by the shop/ })).toHaveCount(1);
    await s.goto(`/sales/${saleId}`);
    await expect(s.getByTestId('remaining')).toHaveText('5');
    await shopper.context.close();

    // Who did what.
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Audit log' }).click();
    const mine = page.locator('.audit-row').filter({ hasText: ADMIN_EMAIL });
    await expect(mine.filter({ hasText: `order:${orderId}` })).toContainText('order.cancel');
    await expect(mine.filter({ hasText: `sale:${saleId}` }).first()).toContainText('sale.create');
    await expect(mine.filter({ hasText: productName }).filter({ hasText: 'product.create' })).toHaveCount(1);
    await page.goto(productPath);
    await expect(page.locator('.admin-images img')).toHaveCount(1);
  });

  test('the admin is staff only', async ({ page }, testInfo) => {
    // Anonymous: to the login page, and back afterwards.
    await page.goto('/admin/orders');
    await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/admin/orders');
    // A customer: 403, no admin link.
    await signUp(page, uniqueUser(testInfo, 'c'));
    await expect(page.getByRole('banner').getByRole('link', { name: 'Admin' })).toHaveCount(0);
    const res = await page.goto('/admin');
    expect(res?.status()).toBe(403);
    await expect(page.locator('h1')).toHaveText('Staff only');
    await expect(page.getByRole('navigation', { name: 'Admin' })).toHaveCount(0);
  });
});
