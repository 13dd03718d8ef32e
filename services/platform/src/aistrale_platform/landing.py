"""The page at `/` of `make run`: where everything is, for someone who just opened the port.

Static HTML with every link on it (it works with scripts off); a few lines of script fill in
the live state from `/ready` (the local model's progress, with its estimate).
"""

from __future__ import annotations

import html

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse
from starlette.types import Receive, Scope, Send

LINKS = (
    ("/console/", "Console", "the web app for admins and org members"),
    ("/v1/docs", "Gateway API docs", "OpenAI-compatible: /v1/chat/completions, /v1/models, …"),
    ("/admin/v1/docs", "Admin API docs", "orgs, keys, budgets, members, audit log"),
    ("/analytics/v1/docs", "Analytics API docs", "usage, cost, exports"),
    ("/ready", "/ready", "every dependency, and the local model's progress"),
    ("/metrics", "/metrics", "Prometheus metrics"),
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AISTRALE</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto;
        padding: 0 1rem; line-height: 1.5; color: #222; }}
 code, pre {{ background: #f4f4f4; border-radius: 4px; padding: 0 .25rem; }}
 pre {{ padding: .75rem; overflow-x: auto; }}
 li {{ margin: .3rem 0; }}
 #state {{ padding: .5rem .75rem; background: #eef5ff; border-radius: 4px; }}
</style></head>
<body>
<h1>AISTRALE</h1>
<p>An OpenAI-compatible gateway with orgs, API keys, budgets and usage analytics.
Point any OpenAI SDK at <code>{base}/v1</code> with a key made below.</p>
<p id="state">Status: see <a href="/ready">/ready</a>.</p>
<ul>
{links}
</ul>
<h2>First steps</h2>
<p>The README's "First hour" section, in short: log in as the admin (<code>make run</code>
printed the password; it is kept in <code>.aistrale/admin.json</code>), create an org and a
key, then call <code>/v1/chat/completions</code> with it.</p>
<pre>uv run aistrale login --email admin@localhost
uv run aistrale orgs create demo
uv run aistrale keys create &lt;org_id&gt; laptop</pre>
<script>
fetch("/ready").then(r => r.json()).then(ready => {{
  const model = (ready.components || {{}})["local-model"];
  let text = "Gateway: " + ready.status + ".";
  if (model) {{
    text += " Local model " + model.model + ": " + model.state;
    if (model.eta_s) text += ", about " + Math.ceil(model.eta_s / 60) + " min left";
    if (model.detail) text += " (" + model.detail + ")";
  }}
  document.getElementById("state").textContent = text;
}}).catch(() => {{}});
</script>
</body></html>
"""


def landing_page(base: str) -> HTMLResponse:
    links = "\n".join(
        f'<li><a href="{href}">{label}</a> — {what}</li>' for href, label, what in LINKS
    )
    return HTMLResponse(PAGE.format(base=html.escape(base), links=links))


async def landing(scope: Scope, receive: Receive, send: Send) -> None:
    """GET / of the platform; the host the browser used names the base URL on the page."""
    host = Headers(scope=scope).get("host", "127.0.0.1")
    await landing_page(f"{scope.get('scheme', 'http')}://{host}")(scope, receive, send)
