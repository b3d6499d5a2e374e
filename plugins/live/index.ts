import type { TalkyPlugin } from '../../core/plugin';


// Live events over nes, fanned out through Redis so that every api instance sees them all

export const plugin: TalkyPlugin = {
    name: 'live',
    dependencies: ['core', 'auth'],
    register() {

        // subscriptions to come
    }
};
