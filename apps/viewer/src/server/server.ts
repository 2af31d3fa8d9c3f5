import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { allowedHosts, isAllowedHost, urlHostName } from './allowed-hosts';
import { listLogDir, PathRejectedError, resolveInside } from './log-dir';

export interface ViewerServerOptions {
  /** The log directory whose runs are listed and served (it may be missing: the page says so). */
  logDir: string;
  /** The built web app (dist/web). */
  staticDir: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * The address to listen on (default HOST). Requests are answered only when their Host header names a
   * loopback address or this one, with the port (any Host for 0.0.0.0 and ::); see isAllowedHost.
   */
  host?: string;
}

export interface ViewerServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The default address, loopback only: run logs and file paths are not for the network. */
export const HOST = '127.0.0.1';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'application/x-ndjson; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' });
  res.end(text);
}

async function sendFile(
  res: ServerResponse,
  root: string,
  urlPath: string,
  noStore: boolean,
): Promise<boolean> {
  const found = await resolveInside(root, urlPath);
  if (!found) return false;
  res.writeHead(200, {
    'content-type': TYPES[extname(found.path)] ?? 'application/octet-stream',
    'content-length': found.stats.size,
    'cache-control': noStore ? 'no-store' : 'no-cache',
  });
  await new Promise<void>((ok, fail) => {
    createReadStream(found.path).on('error', fail).on('end', ok).pipe(res);
  });
  return true;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: ViewerServerOptions,
  bound: { host: string; port: number },
): Promise<void> {
  if (!isAllowedHost(req.headers.host, bound)) {
    // A page served from another name that resolves here (DNS rebinding) must not read the runs.
    sendJson(res, 403, {
      error:
        `Host ${JSON.stringify(req.headers.host ?? '')} is not allowed (only ${allowedHosts(bound)?.join(', ')}); ` +
        'to serve on a network, start bmp-viewer with --host <address>',
    });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: `method ${req.method} not allowed` });
    return;
  }
  // The raw path, not WHATWG URL's pathname: that one resolves `..` (and `%2e%2e`) away, and a request
  // that tries to climb out should be refused as such, not quietly mapped somewhere else.
  const raw = (req.url ?? '/').split(/[?#]/)[0];
  let segments: string[];
  try {
    segments = raw.split('/').map(decodeURIComponent);
  } catch {
    sendJson(res, 400, { error: 'malformed URL' });
    return;
  }
  if (segments.some((seg) => seg.split(/[\\/]/).includes('..') || seg.includes('\0'))) {
    sendJson(res, 403, { error: `path leaves the served directory: ${raw}` });
    return;
  }
  const path = segments.join('/');
  try {
    if (path === '/api/runs') {
      sendJson(res, 200, await listLogDir(options.logDir));
      return;
    }
    if (path.startsWith('/api/files/')) {
      if (!(await sendFile(res, options.logDir, path.slice('/api/files/'.length), true)))
        sendJson(res, 404, { error: `not found in the log directory: ${path.slice('/api/files/'.length)}` });
      return;
    }
    if (path.startsWith('/api/')) {
      sendJson(res, 404, { error: `unknown API path ${path}` });
      return;
    }
    const file = path === '/' ? 'index.html' : path;
    if (!(await sendFile(res, options.staticDir, file, false)))
      sendJson(res, 404, { error: `not found: ${path}` });
  } catch (e) {
    if (e instanceof PathRejectedError) sendJson(res, 403, { error: e.message });
    else if (!res.headersSent) sendJson(res, 500, { error: (e as Error).message });
    else res.destroy(e as Error);
  }
}

/**
 * Starts the viewer's HTTP server on `options.host` (127.0.0.1 by default): the web app, `/api/runs`
 * and `/api/files/<run>/<file>`.
 */
export async function startViewerServer(options: ViewerServerOptions): Promise<ViewerServer> {
  const bound = { host: options.host ?? HOST, port: 0 }; // the port once listening
  const server = createServer((req, res) => {
    void handle(req, res, options, bound);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, bound.host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  bound.port = port;
  return {
    server,
    port,
    url: `http://${urlHostName(bound.host)}:${port}/`,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.closeAllConnections();
        server.close((e) => (e ? fail(e) : ok()));
      }),
  };
}
