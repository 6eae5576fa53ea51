import { test, expect } from '@playwright/test';

// A search link is the reflected-XSS vector the hardening issue found: the query went into
// <title> unescaped. In a real browser, with script on and off, the payload must stay text.
const PAYLOAD = '</title><img src=x onerror="window.__xss=1">';

test.describe('what a visitor types stays text', () => {
  test('a search link cannot run script through the page title', async ({ page }) => {
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const res = await page.goto(`/products?q=${encodeURIComponent(PAYLOAD)}`);
    expect(res?.status()).toBe(200);
    await expect(page).toHaveTitle(/<\/title><img src=x onerror=/);
    await expect(page.locator('img[onerror]')).toHaveCount(0);
    expect(dialogs).toEqual([]);
    if (test.info().project.name === 'js-on') {
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    }
  });

  test('every page carries a Content-Security-Policy', async ({ page }) => {
    const res = await page.goto('/');
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
  });
});
