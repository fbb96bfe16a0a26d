// Serves the single-page app: app.js bundled with esbuild when the server starts, and a page that loads
// it with the network's addresses from the environment (HANDLE_RESOLVER, PLC_URL) in window.SPA_CONFIG.
// The server takes no part in OAuth: the browser is the client.
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const PORT = Number(process.env.PORT || 3000)
const config = { handleResolver: process.env.HANDLE_RESOLVER, plcDirectoryUrl: process.env.PLC_URL }

const bundle = await build({
  entryPoints: [fileURLToPath(new URL('app.js', import.meta.url))],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  logLevel: 'warning',
})
const script = bundle.outputFiles[0].text
const json = JSON.stringify(config).replace(/</g, '\\u003c')
const page = `<!doctype html><html><head><title>Statusphere SPA</title></head><body><h1>Statusphere</h1>
<main><p>Loading...</p></main><script>window.SPA_CONFIG = ${json}</script>
<script type="module" src="/app.js"></script></body></html>`

createServer((req, res) => {
  const path = new URL(req.url, 'http://127.0.0.1').pathname
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    return res.end(page)
  }
  if (path === '/app.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
    return res.end(script)
  }
  res.writeHead(404, { 'content-type': 'text/plain' })
  res.end('not found')
}).listen(PORT, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${PORT} (app.js bundled: ${script.length} bytes)`))
