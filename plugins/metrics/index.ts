import type { TalkyPlugin } from '../../core/plugin';


// GET /api/v1/metrics: the process's numbers in Prometheus's text format

export const plugin: TalkyPlugin = {
    name: 'metrics',
    dependencies: ['core'],
    register() {

        // routes to come
    }
};
