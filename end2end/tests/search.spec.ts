import { test, expect, type Page } from '@playwright/test';

/** Search from the /products page the way a user does: type into the labelled box, press Enter. */
async function search(page: Page, term: string) {
  const box = page.getByLabel('Search products');
  await expect(box).toBeVisible();
  await expect(box).toHaveAttribute('name', 'q');
  await box.fill(term);
  await box.press('Enter');
  await expect(page).toHaveURL(/[?&]q=/);
}

/** A word (3+ letters) taken from the name of the first product listed on /products. */
async function termFromListing(page: Page): Promise<string> {
  const firstName = page.locator('.product-card .product-name').first();
  await expect(firstName).toBeVisible();
  const name = (await firstName.innerText()).trim();
  const words = name.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 3);
  expect(words.length, `no usable search word in product name ${JSON.stringify(name)}`).toBeGreaterThan(0);
  // The longest word is the least likely to be a filler word.
  return words.reduce((a, b) => (b.length > a.length ? b : a));
}

test.describe('product search', () => {
  test('results only list products whose name contains the term', async ({ page }) => {
    await page.goto('/products');
    const term = await termFromListing(page);

    await search(page, term);
    expect(new URL(page.url()).searchParams.get('q')).toBe(term);

    const names = page.locator('.product-card .product-name');
    // Retries until the result list has settled (client-side navigation with JS on).
    await expect(async () => {
      const texts = await names.allInnerTexts();
      expect(texts.length, 'search returned no products').toBeGreaterThan(0);
      for (const text of texts) {
        expect(text.toLowerCase(), `result ${JSON.stringify(text)} does not contain ${JSON.stringify(term)}`).toContain(
          term.toLowerCase(),
        );
      }
    }).toPass({ timeout: 5_000 });
  });

  test('a term that matches nothing says so', async ({ page }) => {
    await page.goto('/products');
    await search(page, 'zqxjvw-no-such-thing');

    await expect(page.getByText('No products match')).toBeVisible();
    await expect(page.locator('.product-card')).toHaveCount(0);
  });

  test('a tag link on a product page lists the products with that tag', async ({ page }) => {
    await page.goto('/products');
    const links = page.locator('a.product-card');
    await expect(links.first()).toBeVisible();
    const hrefs = (await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')))).filter(
      (h): h is string => !!h,
    );

    // Open product pages until one shows a tag.
    let tag = null;
    for (const href of hrefs) {
      await page.goto(href);
      await expect(page.locator('h1')).toBeVisible();
      if ((await page.locator('a.tag').count()) > 0) {
        tag = page.locator('a.tag').first();
        break;
      }
    }
    expect(tag, 'no product page on /products shows an a.tag link').not.toBeNull();

    await expect(tag!).toHaveAttribute('href', /^\/products\?(.*&)?tag=/);
    const tagName = new URL((await tag!.getAttribute('href'))!, 'http://shop').searchParams.get('tag')!;
    await tag!.click();

    await expect(page).toHaveURL(/\/products\?(.*&)?tag=/);
    await expect(page.locator('.product-card').first()).toBeVisible();
    // The cards are exactly the tag's first page, as the catalog API lists it.
    const response = await page.request.get(`/api/products?tag=${encodeURIComponent(tagName)}`);
    expect(response.status()).toBe(200);
    const listed: string[] = (await response.json()).page.items.map((p: { name: string }) => p.name);
    expect(listed.length).toBeGreaterThan(0);
    const cards = (await page.locator('.product-card .product-name').allTextContents()).map((t) => t.trim());
    expect(cards).toEqual(listed);
  });
});
