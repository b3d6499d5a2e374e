import Boom from '@hapi/boom';
import type { Request, ResponseObject, Server } from '@hapi/hapi';
import { Histogram, type Registry } from 'prom-client';


// hapi answers a request no route matched (and a CORS preflight) through a special route whose
// method is '_special'

const routeOf = (request: Request) => ((request.route.method as string) === '_special' ? '(unmatched)' : request.route.path);


// Still a Boom when onPreResponse never ran: the client went away (hapi's 499)

const statusOf = (response: Request['response']) => (Boom.isBoom(response) ? response.output.statusCode : (response as ResponseObject).statusCode);


// Each request from its arrival (hapi stamps it just before onRequest) to its response sent,
// labelled by its route's path template: the raw URL would make a series per id. hapi's
// millisecond stamps are fine enough for buckets that start at 5 ms.

export const measureRequests = (server: Server, registry: Registry) => {

    const duration = new Histogram({
        name: 'talky_http_request_duration_seconds',
        help: 'HTTP requests from arrival to response sent, in seconds, by method, route path template ("(unmatched)" when no route matched) and status code. The metrics route itself is left out.',
        labelNames: ['method', 'route', 'status_code'],
        registers: [registry]
    });

    server.events.on('response', (request) => {

        if (request.route.realm.plugin === 'metrics') {
            return;                                                 // scrapes would measure themselves
        }

        const labels = { method: request.method.toUpperCase(), route: routeOf(request), status_code: String(statusOf(request.response)) };
        duration.observe(labels, (request.info.completed - request.info.received) / 1000);
    });
};
