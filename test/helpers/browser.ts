/** Headless Chromium for the page tests, or why it cannot start (the test then skips, saying so). */
import { chromium, type Browser } from 'playwright-core'

export async function launchBrowser(testName: string): Promise<{ browser: Browser | undefined; skip: string }> {
  try {
    return { browser: await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'], headless: true }), skip: '' }
  } catch (error) {
    const skip = `Chromium cannot start (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); install it with: apt-get install chromium`
    console.warn(`[${testName}] page tests SKIPPED: ${skip}`)
    return { browser: undefined, skip }
  }
}
