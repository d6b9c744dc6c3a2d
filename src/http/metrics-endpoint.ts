import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { register } from 'prom-client';
import { wireError } from '#libs/contracts';
import type { HttpMiddleware } from './security-headers.js';

export const METRICS_PATH = '/metrics';

/** A Prometheus exposition and its content type. */
export interface MetricsText {
  contentType: string;
  text: string;
}

/** Where a scrape's answer comes from: this process's registry, or (a cluster) every worker's, gathered by the primary. */
export type MetricsSource = () => Promise<MetricsText>;

/** This process's metrics: prom-client's default registry. */
export const processMetrics: MetricsSource = async () => ({ contentType: register.contentType, text: await register.metrics() });

/**
 * `GET /metrics`: the Prometheus exposition of `source`. The metrics name tenants (usage, seats), so with
 * `METRICS_TOKEN` set a scrape must carry `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time);
 * anything else is answered 401 without a metric in it.
 */
export function metricsEndpoint(token: string | undefined, source: MetricsSource): (request: IncomingMessage, response: ServerResponse) => void {
  const expected = token === undefined ? undefined : digest(token);
  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return sendText(response, 405, 'metrics are read with GET');
    }
    if (expected && !presentsToken(request, expected)) {
      response.setHeader('www-authenticate', 'Bearer realm="metrics"');
      return sendJson(response, 401, wireError('UNAUTHORIZED', 'metrics need Authorization: Bearer <METRICS_TOKEN>'));
    }
    source().then(
      ({ contentType, text }) => {
        response.statusCode = 200;
        response.setHeader('content-type', contentType);
        response.setHeader('cache-control', 'no-store');
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        sendJson(response, 500, wireError('INTERNAL', `metrics could not be collected: ${error instanceof Error ? error.message : String(error)}`));
      },
    );
  };
}

/**
 * `/metrics` alone on a port of its own (`METRICS_PORT`), for a scrape network apart from the clients' one. Every
 * answer gets the same security headers as the main port's.
 */
export function metricsServer(token: string | undefined, headers: HttpMiddleware, source: MetricsSource): Server {
  const endpoint = metricsEndpoint(token, source);
  return createServer((request, response) => {
    headers(request, response, () => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === METRICS_PATH) return endpoint(request, response);
      sendText(response, 404, `only ${METRICS_PATH} is served on this port`);
    });
  });
}

function presentsToken(request: IncomingMessage, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  // Digests of equal length, so the comparison takes the same time whatever was sent.
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.statusCode = status;
  response.setHeader('content-type', 'text/plain; charset=utf-8');
  response.end(text);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json; charset=utf-8');
  response.end(JSON.stringify(body));
}
