import { expect, test } from '@playwright/test';
import { expectLanded, expectLive, field, formWith, header, pathIs, signUp, submit, uniqueUser } from './helpers';

test.describe('cart and wishlist', () => {
  test('a shopper saves a product, fills the cart from product pages and orders it in one go', async ({ page }, testInfo) => {
    const user = uniqueUser(testInfo, 'c');
    await signUp(page, user);
    const address = formWith(page, 'Add address');
    await field(address, 'Street').fill('7 Harbour Lane');
    await field(address, 'ZIP code').fill('20095');
    await submit(address, 'Add address');
    const card = formWith(page, 'Add card');
    await field(card, 'Card number').fill('5555 5555 5555 4444');
    await field(card, 'Expiry (MM/YY)').fill('10/37');
    await submit(card, 'Add card');
    await expect(page.locator('.notice')).toContainText('Card added');

    // Two in-stock products from the catalog.
    await page.goto('/products?sort=price_asc');
    const links = page.locator('.product-card').filter({ has: page.locator('.stock-ok') });
    const first = await links.nth(0).getAttribute('href');
    const second = await links.nth(1).getAttribute('href');

    // With JavaScript the product page stays and says what happened; without, the form's
    // answer is the wishlist's or the cart's page, with the same notice.
    const js = testInfo.project.use.javaScriptEnabled;
    const productPath = new URL(first!, 'http://shop.test').pathname;
    const notices = page.locator('#notices');
    await page.goto(first!);
    if (js) await expectLive(page);
    const firstName = await page.locator('h1').innerText();
    await submit(page, 'Save to wishlist');
    await expect(notices).toHaveText('Saved to your wishlist.');
    if (js) {
      await expect(page).toHaveURL(pathIs(productPath));
      await page.goto('/wishlist');
    } else {
      await expect(page).toHaveURL(pathIs('/wishlist'));
    }
    await expect(page.locator('.product-card .product-name')).toHaveText([firstName]);

    await page.goto(first!);
    if (js) await expectLive(page);
    await field(formWith(page, 'Add to cart'), 'Quantity').fill('2');
    await submit(page, 'Add to cart');
    await expect(notices).toHaveText('Added to your cart.');
    await expect(page).toHaveURL(pathIs(js ? productPath : '/cart'));
    await page.goto(second!);
    await submit(page, 'Add to cart');
    await expect(notices).toHaveText('Added to your cart.');
    await page.goto('/cart');
    await expect(page.locator('.cart-line')).toHaveCount(2);

    // Change a quantity, then order the whole cart.
    const firstLine = page.locator('.cart-line').filter({ hasText: firstName });
    await firstLine.getByLabel(`Quantity of ${firstName}`).fill('1');
    await firstLine.getByRole('button', { name: 'Update' }).click();
    await expect(page.locator('.cart-line').filter({ hasText: firstName }).locator('input[name=quantity]')).toHaveValue('1');
    await submit(page, 'Place order');
    await expectLanded(page, (url) => /^\/orders\/\d+$/.test(url.pathname));
    await expect(page.locator('[data-testid=order-status]')).toHaveText(/^(Placed|Paid)$/);
    await expect(page.locator('.order-lines tbody tr')).toHaveCount(2);
    await expect(page.locator('[data-testid=order-payment]')).toHaveText('Mastercard •••• 4444');

    // The cart is empty afterwards.
    await header(page).getByRole('link', { name: 'Cart' }).click();
    await expect(page.locator('.empty')).toContainText('Your cart is empty');
  });
});
