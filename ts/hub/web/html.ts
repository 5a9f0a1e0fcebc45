/** The page's HTML shell; everything else is drawn by /assets/app.js from the JSON API. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SONAR dev hub</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<header class="banner">
  <strong>SONAR</strong>
  <span class="dev-label" data-testid="dev-label">DEV HUB — demo/testing only, in-memory</span>
  <span id="stream-state" class="stream-state">connecting…</span>
</header>
<div class="layout">
  <nav id="systems" class="systems" aria-label="Systems"></nav>
  <main id="system" class="system"><p class="hint">Loading…</p></main>
</div>
<noscript>This page needs JavaScript.</noscript>
<script src="/assets/app.js"></script>
</body>
</html>
`
