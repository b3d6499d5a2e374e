import type { Server } from '@hapi/hapi';
import { Histogram, type Registry } from 'prom-client';


// Provider event webhooks: how long after the event the provider stamped it did it reach us. The
// provider's plugin leaves the event's time on the request (request.plugins.vonage); only requests
// that got as far as the handler (signed, valid) carry it. A provider clock ahead of ours reads as 0.

export const measureWebhookLag = (server: Server, registry: Registry) => {

    const lag = new Histogram({
        name: 'talky_webhook_lag_seconds',
        help: 'Provider event webhooks: receipt time less the event\'s own timestamp, in seconds, by provider. Includes the provider\'s own retries of a webhook that failed.',
        labelNames: ['provider'],
        buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
        registers: [registry]
    });

    server.events.on('response', (request) => {

        const sentAt = request.plugins.vonage?.eventSentAt;
        if (sentAt !== undefined) {
            lag.observe({ provider: 'vonage' }, Math.max(0, request.info.received - sentAt) / 1000);
        }
    });
};
