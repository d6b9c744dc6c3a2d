import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Express } from 'express';
import type { Server } from 'node:http';
import { PINO_LOGGER, type Logger } from '#libs/observability';
import { TrustedProxies } from '#libs/rate-limit';
import { ClusterWorker } from '../cluster/cluster-worker.js';
import { AppConfig } from '../config/index.js';
import { METRICS_PATH, metricsEndpoint, metricsServer, processMetrics } from './metrics-endpoint.js';
import { securityHeaders } from './security-headers.js';

/**
 * Where `/metrics` is served: on the main port, or alone on METRICS_PORT (then not on the main port at all). The
 * metrics port closes last at shutdown, so the scrape sees the replica until it is gone.
 *
 * In a worker of WORKERS > 1 a scrape answers for the whole machine, every worker's series (labelled `worker`) as
 * the primary gathers them, whichever worker it reached; METRICS_PORT is then the primary's to serve.
 */
@Injectable()
export class MetricsPort implements OnModuleInit, OnApplicationShutdown {
  private server: Server | undefined;

  constructor(
    private readonly config: AppConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly http: HttpAdapterHost,
  ) {}

  async onModuleInit(): Promise<void> {
    const { port, token } = this.config.metrics;
    const worker = ClusterWorker.inThisProcess();
    const source = worker ? worker.machineMetrics : processMetrics;
    if (port === undefined) {
      // No HTTP adapter in an application context without a server (unit tests): nothing to serve it on.
      const adapter = this.http.httpAdapter as HttpAdapterHost['httpAdapter'] | null;
      if (!adapter) return;
      const express = adapter.getInstance<Express>();
      express.get(METRICS_PATH, metricsEndpoint(token, source));
      if (this.config.isProduction && token === undefined) {
        this.logger.warn('/metrics is served on the main port without a token and names tenants: set METRICS_PORT or METRICS_TOKEN (docs/operations.md §4)');
      }
      return;
    }
    if (worker) return;
    const server = metricsServer(token, securityHeaders(new TrustedProxies(this.config.rateLimits.trustedProxies)), source);
    await new Promise<void>((resolveListening, rejectListening) => {
      server.once('error', rejectListening);
      server.listen(port, '0.0.0.0', () => {
        server.off('error', rejectListening);
        resolveListening();
      });
    });
    this.server = server;
  }

  onApplicationShutdown(): void {
    this.server?.close();
  }
}
