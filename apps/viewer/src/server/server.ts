import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { allowedHosts, isAllowedHost, urlHostName } from './allowed-hosts';
import { listLogDir, PathRejectedError, resolveInside } from './log-dir';
import { LogDirPoller, snapshotLogDir } from './watch';

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
  /** How often the log directory is polled for `/api/events` (ms, default 1000). */
  pollMs?: number;
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
  rangeHeader?: string,
): Promise<boolean> {
  const found = await resolveInside(root, urlPath);
  if (!found) return false;
  const size = found.stats.size;
  const headers = {
    'content-type': TYPES[extname(found.path)] ?? 'application/octet-stream',
    'cache-control': noStore ? 'no-store' : 'no-cache',
    'accept-ranges': 'bytes',
  };
  // `Range: bytes=<start>-` only: the page following a growing metrics.jsonl reads what was appended.
  const range = /^bytes=(\d+)-$/.exec(rangeHeader ?? '');
  let start = 0;
  if (range) {
    start = Number(range[1]);
    if (!Number.isSafeInteger(start) || start >= size) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` });
      res.end();
      return true;
    }
    res.writeHead(206, {
      ...headers,
      'content-length': size - start,
      'content-range': `bytes ${start}-${size - 1}/${size}`,
    });
  } else res.writeHead(200, { ...headers, 'content-length': size });
  if (size === 0) {
    res.end();
    return true;
  }
  // Exactly the bytes the stat counted: a metrics.jsonl being appended to must not overrun content-length.
  await new Promise<void>((ok, fail) => {
    createReadStream(found.path, { start, end: size - 1 })
      .on('error', fail)
      .on('end', ok)
      .pipe(res);
  });
  return true;
}

/** Heartbeat comment on idle event streams, so that proxies and tunnels keep them open. */
const HEARTBEAT_MS = 15_000;

/**
 * `GET /api/events`: Server-Sent Events, one `snapshot` event (a LogDirSnapshot as JSON) on connecting and
 * one each time the polled log directory changes. The page re-reads only the files whose size or mtime
 * changed.
 */
function sendEvents(req: IncomingMessage, res: ServerResponse, poller: LogDirPoller): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write('retry: 2000\n\n');
  const unsubscribe = poller.subscribe((snap) => {
    res.write(`event: snapshot\ndata: ${JSON.stringify(snap)}\n\n`);
  });
  const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  const done = () => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.on('close', done);
  res.on('close', done);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: ViewerServerOptions,
  bound: { host: string; port: number },
  poller: LogDirPoller,
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
    if (path === '/api/snapshot') {
      sendJson(res, 200, await snapshotLogDir(options.logDir));
      return;
    }
    if (path === '/api/events') {
      if (req.method === 'HEAD') sendJson(res, 200, {});
      else sendEvents(req, res, poller);
      return;
    }
    if (path.startsWith('/api/files/')) {
      if (!(await sendFile(res, options.logDir, path.slice('/api/files/'.length), true, req.headers.range)))
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
 * Starts the viewer's HTTP server on `options.host` (127.0.0.1 by default): the web app, `/api/runs`,
 * `/api/snapshot` (the runs with their files' sizes and mtimes), `/api/events` (the same as Server-Sent
 * Events, on every change of the log directory) and `/api/files/<run>/<file>`.
 */
export async function startViewerServer(options: ViewerServerOptions): Promise<ViewerServer> {
  const bound = { host: options.host ?? HOST, port: 0 }; // the port once listening
  const poller = new LogDirPoller(options.logDir, options.pollMs ?? 1000);
  const server = createServer((req, res) => {
    void handle(req, res, options, bound, poller);
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
        poller.stop();
        server.closeAllConnections();
        server.close((e) => (e ? fail(e) : ok()));
      }),
  };
}
