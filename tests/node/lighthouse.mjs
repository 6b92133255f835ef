// Lighthouse (desktop preset, one run per page) on the pages given, in one Chromium.
// Usage: CHROME_PATH=/usr/bin/chromium node lighthouse.mjs URL...
// Prints one JSON line: {url: {category: score 0-100, ..., failing: [audit ids scoring < 1 with weight]}}
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import desktopConfig from 'lighthouse/core/config/desktop-config.js';

// The browser tests' flags (tests/web/browser.py): headless, no sandbox, nothing fetched on its own.
const chrome = await chromeLauncher.launch({
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const results = {};
try {
  for (const url of process.argv.slice(2)) {
    const { lhr } = await lighthouse(url, { port: chrome.port, logLevel: 'error', output: 'json' }, desktopConfig);
    const scores = {};
    const failing = [];
    for (const category of Object.values(lhr.categories)) {
      scores[category.id] = Math.round((category.score ?? 0) * 100);
      for (const ref of category.auditRefs) {
        const audit = lhr.audits[ref.id];
        if (ref.weight > 0 && audit.score !== null && audit.score < 1) failing.push(`${category.id}/${ref.id}`);
      }
    }
    results[url] = { ...scores, failing };
  }
} finally {
  await chrome.kill();
}
console.log(JSON.stringify(results));
