import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { folderStorage } from './local';


// Provides the storage slot: STORAGE_BACKEND=local keeps objects in STORAGE_DIR

export const plugin: TalkyPlugin = {
    name: 'storage',
    dependencies: ['core'],
    register(server) {

        const { config, providers } = server.plugins.core;

        providers.register('storage', 'local', () => folderStorage(Path.resolve(config.storageDir)));
    }
};
