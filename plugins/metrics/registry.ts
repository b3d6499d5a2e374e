import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { Logger } from 'pino';


// One registry per server, never prom-client's global one: tests build several servers in one
// process. The runtime's own metrics keep their standard process_ and nodejs_ names, which the
// usual dashboards expect; Talky's own all begin with talky_.

export const createRegistry = () => {

    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return registry;
};


// What is read from Redis or Postgres at scrape time is read within a deadline: a store that hangs
// or fails leaves its series out of that scrape, counted, and the rest still answers

export type Source = 'queues' | 'calls';

const sources: Source[] = ['queues', 'calls'];


export class Readings {

    readonly #failed: Counter<'source'>;
    readonly #inFlight = new Set<Promise<unknown>>();

    constructor(registry: Registry, private readonly deadlineMs: number, private readonly logger: Logger) {

        this.#failed = new Counter({
            name: 'talky_scrape_read_errors_total',
            help: 'Scrape-time readings that failed or took longer than HEALTH_TIMEOUT_MS, by source (queues, calls); their series are left out of that scrape.',
            labelNames: ['source'],
            registers: [registry],

            // A scrape starts every collector at once, and a collector may start a reading once
            // another has answered: this count waits until no reading is left, so that it reports
            // the failures of this very scrape

            collect: async () => {

                for (;;) {
                    await new Promise((resolve) => setImmediate(resolve));
                    if (!this.#inFlight.size) {
                        return;
                    }

                    await Promise.allSettled(this.#inFlight);
                }
            }
        });

        sources.forEach((source) => this.#failed.inc({ source }, 0));       // present from the first scrape, for rate()
    }

    async read<T>(source: Source, probe: () => Promise<T>): Promise<T | null> {

        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {

            timer = setTimeout(() => reject(new Error(`no answer within ${this.deadlineMs} ms`)), this.deadlineMs);
        });

        const reading = Promise.race([Promise.resolve().then(probe), timeout]);       // a probe that throws at once fails as a reading
        this.#inFlight.add(reading);
        try {
            return await reading;
        }
        catch (err) {
            this.#failed.inc({ source });
            this.logger.debug({ err: { message: (err as Error).message }, source }, 'metrics reading failed');
            return null;
        }
        finally {
            clearTimeout(timer);
            this.#inFlight.delete(reading);
        }
    }
}
