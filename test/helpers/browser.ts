import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/** Debian's Chromium (or CHROMIUM_PATH), headless, with nothing that phones home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * What an accessibility reviewer would flag on the page as rendered, checked in the browser (plus raw values such as "null" shown as text): form controls without
 * an accessible name (a <label> around or for it, aria-label, aria-labelledby), buttons and links without text or
 * aria-label, images without alt, duplicate ids, not exactly one h1, and visible text whose WCAG contrast against
 * the first opaque background up the tree is below 4.5:1 (3:1 for large text: ≥ 18pt, or bold ≥ 14pt). Disabled
 * controls are exempt from the contrast rule (WCAG 1.4.3). Runs inside the page: keep it self-contained.
 */
export function accessibilityProblems(): string[] {
  const problems: string[] = [];
  const describe = (element: Element): string => {
    const id = element.id ? `#${element.id}` : '';
    const name = element.getAttribute('name') ? `[name=${element.getAttribute('name')}]` : '';
    return `<${element.tagName.toLowerCase()}${id}${name}> "${(element.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 50)}"`;
  };
  const rendered = (element: Element): boolean => {
    if (element.getClientRects().length === 0) return false;
    // Not shown: inside a closed <details> (its content is skipped, though it may still have boxes), or hidden.
    const closed = element.closest('details:not([open])');
    if (closed && !element.closest('summary')?.parentElement?.isSameNode(closed)) return false;
    if (!element.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true })) return false;
    const style = getComputedStyle(element);
    return style.visibility !== 'hidden' && style.display !== 'none';
  };
  const referencedText = (element: Element): string =>
    (element.getAttribute('aria-labelledby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' ')
      .trim();
  /** A label's own words: its text without the text of the controls inside it (a select's options are not a name). */
  const labelText = (label: Element): string => {
    const copy = label.cloneNode(true) as Element;
    copy.querySelectorAll('input, select, textarea').forEach((control) => control.remove());
    return (copy.textContent ?? '').trim();
  };

  for (const control of Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('input, select, textarea'))) {
    if (control.type === 'hidden' || !rendered(control)) continue;
    const named =
      (control.getAttribute('aria-label') ?? '').trim() !== '' ||
      referencedText(control) !== '' ||
      Array.from(control.labels ?? []).some((label) => labelText(label) !== '');
    if (!named) problems.push(`form control without an accessible name: ${describe(control)}`);
  }
  for (const element of Array.from(document.querySelectorAll('button, a[href]'))) {
    if (!rendered(element)) continue;
    const text = (element.textContent ?? '').trim() || Array.from(element.querySelectorAll('img[alt]')).map((img) => img.getAttribute('alt')).join('').trim();
    if (!text && !(element.getAttribute('aria-label') ?? '').trim() && !referencedText(element)) problems.push(`${element.tagName.toLowerCase()} without text or aria-label: ${describe(element)}`);
  }
  for (const image of Array.from(document.querySelectorAll('img'))) {
    if (!image.hasAttribute('alt')) problems.push(`image without alt: ${image.getAttribute('src')?.slice(0, 40)}`);
  }
  const seen = new Map<string, number>();
  for (const element of Array.from(document.querySelectorAll('[id]'))) seen.set(element.id, (seen.get(element.id) ?? 0) + 1);
  for (const [id, count] of seen) if (count > 1) problems.push(`id "${id}" used ${count} times`);
  const headings = document.querySelectorAll('h1').length;
  if (headings !== 1) problems.push(`${headings} h1 elements (want exactly one)`);
  // A value the page failed to turn into words ("null", "undefined", "[object Object]", "NaN") reads as noise.
  const leaked = /\b(null|undefined|NaN)\b|\[object Object\]/.exec(document.querySelector('main')?.innerText ?? '');
  if (leaked) problems.push(`the page shows "${leaked[0]}" as text`);

  type Rgba = [number, number, number, number];
  const parse = (color: string): Rgba => {
    const numbers = (color.match(/[\d.]+/g) ?? []).map(Number);
    return [numbers[0] ?? 0, numbers[1] ?? 0, numbers[2] ?? 0, numbers[3] ?? 1];
  };
  const over = (top: Rgba, bottom: Rgba): Rgba => {
    const alpha = top[3] + bottom[3] * (1 - top[3]);
    if (alpha === 0) return [0, 0, 0, 0];
    const mix = (i: number) => (top[i]! * top[3] + bottom[i]! * bottom[3] * (1 - top[3])) / alpha;
    return [mix(0), mix(1), mix(2), alpha];
  };
  /** The colour behind an element: its own background and its ancestors', composed down to the first opaque one. */
  const backgroundOf = (element: Element): Rgba => {
    const layers: Rgba[] = [];
    for (let current: Element | null = element; current; current = current.parentElement) {
      const layer = parse(getComputedStyle(current).backgroundColor);
      if (layer[3] > 0) layers.push(layer);
      if (layer[3] >= 1) break;
    }
    return layers.reduceRight<Rgba>((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const luminance = ([r, g, b]: Rgba): number => {
    const channel = (value: number) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const contrast = (a: Rgba, b: Rgba): number => {
    const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
    return (light + 0.05) / (dark + 0.05);
  };
  const textual = (element: Element): boolean => {
    if (element instanceof HTMLSelectElement || element instanceof HTMLTextAreaElement) return true;
    if (element instanceof HTMLInputElement) return !['checkbox', 'radio', 'hidden', 'file', 'range', 'color', 'image'].includes(element.type) && element.value !== '';
    return Array.from(element.childNodes).some((node) => node.nodeType === Node.TEXT_NODE && (node.textContent ?? '').trim() !== '');
  };
  for (const element of Array.from(document.body.querySelectorAll('*'))) {
    if (['SCRIPT', 'STYLE', 'OPTION', 'TITLE'].includes(element.tagName) || !textual(element) || !rendered(element)) continue;
    if (element.closest(':disabled')) continue;
    const style = getComputedStyle(element);
    const background = backgroundOf(element);
    const ratio = contrast(over(parse(style.color), background), background);
    const size = Number.parseFloat(style.fontSize);
    const large = size >= 24 || (Number.parseInt(style.fontWeight, 10) >= 700 && size >= 18.66);
    const needed = large ? 3 : 4.5;
    if (ratio < needed) problems.push(`contrast ${ratio.toFixed(2)}:1 < ${needed}:1 (${style.color} on rgba(${background.map((v) => Math.round(v)).join(',')})): ${describe(element)}`);
  }
  return problems;
}

/** Fails with every problem accessibilityProblems() finds on the page, named by `where`. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  const problems = await page.evaluate(accessibilityProblems);
  if (problems.length) throw new Error(`${where}: accessibility problems\n  ${problems.join('\n  ')}`);
}

/** Fails when the page scrolls sideways (its content is wider than the viewport). */
export async function expectNoHorizontalScroll(page: Page, where: string): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  if (scrollWidth > clientWidth) throw new Error(`${where}: scrolls horizontally at ${clientWidth}px (content is ${scrollWidth}px wide)`);
}

/** Presses Tab (or Shift+Tab) until `target` has focus, as a keyboard user would; fails after `max` presses. */
export async function tabTo(page: Page, target: Locator, options: { max?: number; backwards?: boolean } = {}): Promise<void> {
  await target.waitFor();
  const max = options.max ?? 80;
  for (let presses = 0; presses <= max; presses++) {
    if (await target.evaluate((element) => element === document.activeElement)) return;
    await page.keyboard.press(options.backwards ? 'Shift+Tab' : 'Tab');
  }
  const focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120));
  throw new Error(`${target} not reached with ${max} presses of ${options.backwards ? 'Shift+Tab' : 'Tab'}; focus is on ${focused}`);
}

/**
 * What is wrong with the focus indicator of the focused element, if anything (checked in the page): it must have
 * an outline at least 2px wide whose colour has a 3:1 contrast (WCAG 1.4.11) with what it is drawn on: the
 * element's own background for an inset outline, else its parent's.
 */
export function focusIndicatorProblem(): string | null {
  const element = document.activeElement;
  if (!element || element === document.body) return 'nothing has focus';
  type Rgba = [number, number, number, number];
  const parse = (color: string): Rgba => {
    const numbers = (color.match(/[\d.]+/g) ?? []).map(Number);
    return [numbers[0] ?? 0, numbers[1] ?? 0, numbers[2] ?? 0, numbers[3] ?? 1];
  };
  const over = (top: Rgba, bottom: Rgba): Rgba => {
    const alpha = top[3] + bottom[3] * (1 - top[3]);
    if (alpha === 0) return [0, 0, 0, 0];
    const mix = (i: number) => (top[i]! * top[3] + bottom[i]! * bottom[3] * (1 - top[3])) / alpha;
    return [mix(0), mix(1), mix(2), alpha];
  };
  const backgroundOf = (start: Element | null): Rgba => {
    const layers: Rgba[] = [];
    for (let current = start; current; current = current.parentElement) {
      const layer = parse(getComputedStyle(current).backgroundColor);
      if (layer[3] > 0) layers.push(layer);
      if (layer[3] >= 1) break;
    }
    return layers.reduceRight<Rgba>((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const luminance = ([r, g, b]: Rgba): number => {
    const channel = (value: number) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const style = getComputedStyle(element);
  const what = `<${element.tagName.toLowerCase()}> "${(element.getAttribute('aria-label') ?? element.textContent ?? '').trim().slice(0, 40)}"`;
  if (style.outlineStyle === 'none' || Number.parseFloat(style.outlineWidth) < 2) return `${what}: no visible focus outline (${style.outlineStyle} ${style.outlineWidth})`;
  const behind = backgroundOf(Number.parseFloat(style.outlineOffset) < 0 ? element : element.parentElement);
  const ring = over(parse(style.outlineColor), behind);
  const [light, dark] = [luminance(ring), luminance(behind)].sort((x, y) => y - x) as [number, number];
  const ratio = (light + 0.05) / (dark + 0.05);
  return ratio < 3 ? `${what}: focus outline ${style.outlineColor} has contrast ${ratio.toFixed(2)}:1 < 3:1 against rgba(${behind.map((v) => Math.round(v)).join(',')})` : null;
}

/** Fails unless the focused element shows a focus outline that stands out (see focusIndicatorProblem). */
export async function expectVisibleFocus(page: Page, where: string): Promise<void> {
  const problem = await page.evaluate(focusIndicatorProblem);
  if (problem) throw new Error(`${where}: ${problem}`);
}

/** A portal tab under watch: its console and script errors, and every portal response's protective headers. */
export interface WatchedPortal {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly problems: string[];
  readonly portalResponses: { url: string; csp: string | null; frameOptions: string | null }[];
  /** The next API answer with `status` is provoked by the test (a wrong link, a wrong password): not a problem. */
  provoke(status: number): void;
}

export interface OpenPortalOptions {
  /** The route to open (default sign-in). */
  readonly route?: string;
  /**
   * Statuses the portal meets by design. Chromium logs every 4xx answer to fetch() as "Failed to load resource";
   * the sign-in protocol answers 403 mfa_required and 401 to an old token (the default), the eID waits see 400
   * authorization_pending and 409 eid_pending. Any other logged error is a problem unless provoked.
   */
  readonly expectedStatuses?: readonly number[];
  readonly acceptDownloads?: boolean;
}

const FAILED_LOAD = /Failed to load resource: the server responded with a status of (\d+)/;

/**
 * Opens the portal at `base` in a fresh context and watches it, and the popups it opens (the eID hand-off ends
 * on a portal page in one): script errors anywhere, console errors in the main tab, and the CSP and frame options
 * of every portal response.
 */
export async function openPortal(browser: Browser, base: string, options: OpenPortalOptions = {}): Promise<WatchedPortal> {
  const expected = new Set((options.expectedStatuses ?? [401, 403]).map(String));
  const context = await browser.newContext({ acceptDownloads: options.acceptDownloads ?? false, viewport: { width: 1200, height: 800 } });
  const problems: string[] = [];
  const portalResponses: WatchedPortal['portalResponses'] = [];
  const provoked = new Map<string, number>();
  const watch = (page: Page) => {
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('response', (response) => {
      if (response.url().startsWith(`${base}/portal`)) {
        portalResponses.push({ url: response.url(), csp: response.headers()['content-security-policy'] ?? null, frameOptions: response.headers()['x-frame-options'] ?? null });
      }
    });
  };
  const page = await context.newPage();
  watch(page);
  context.on('page', (popup) => {
    if (popup !== page) watch(popup);
  });
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const status = FAILED_LOAD.exec(message.text())?.[1];
    if (status && expected.has(status)) return;
    if (status && (provoked.get(status) ?? 0) > 0) {
      provoked.set(status, provoked.get(status)! - 1);
      return;
    }
    problems.push(message.text());
  });
  await page.goto(`${base}/portal/#/${options.route ?? 'sign-in'}`);
  await page.locator('h1').first().waitFor();
  return {
    context,
    page,
    problems,
    portalResponses,
    provoke: (status) => void provoked.set(String(status), (provoked.get(String(status)) ?? 0) + 1),
  };
}

/** No errors, and every portal response carried the strict CSP and refused framing. */
export function expectCleanAndProtected(watched: WatchedPortal, csp: string): void {
  expect(watched.problems).toEqual([]);
  expect(watched.portalResponses.length).toBeGreaterThan(0);
  for (const response of watched.portalResponses) expect({ url: response.url, csp: response.csp, frameOptions: response.frameOptions }).toEqual({ url: response.url, csp, frameOptions: 'DENY' });
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toMatch(/unsafe-(inline|eval)/);
}
