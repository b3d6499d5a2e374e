import type { Core } from '../../core/plugin';
import type { Storage } from '../storage/backend';
import { sweep } from './retention';


// The retention sweep runs as a queue job, enqueued every hour by each worker under one fixed id:
// while a sweep waits or runs, the other workers' enqueues of it are dropped

export const retentionQueue = 'privacy-retention';

const sweepJob = { id: 'sweep', data: {} };

const hour = 60 * 60 * 1000;


export const retentionJobs = (core: Core, storage: () => Storage) => {

    let timer: NodeJS.Timeout | null = null;

    const enqueue = () => void core.queues.add(retentionQueue, [sweepJob])
        .catch((err: Error) => core.logger.warn({ err: { message: err.message } }, 'the retention sweep could not be enqueued'));

    core.queues.process(retentionQueue, () => sweep(core.db, storage(), core.clock.now()));

    return {
        start() {

            enqueue();
            timer = setInterval(enqueue, hour).unref();
        },
        stop() {

            if (timer) {
                clearInterval(timer);
                timer = null;
            }
        }
    };
};
