import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { folderStorage } from './local';
import { s3Storage } from './s3';


// Provides the storage slot: STORAGE_BACKEND=local keeps objects in STORAGE_DIR, s3 in S3_BUCKET
// of any S3-compatible store

export const plugin: TalkyPlugin = {
    name: 'storage',
    dependencies: ['core'],
    register(server) {

        const { config, providers } = server.plugins.core;

        providers.register('storage', 'local', () => folderStorage(Path.resolve(config.storageDir)));

        // The settings schema requires S3_BUCKET when s3 is chosen, and only then does this run

        providers.register('storage', 's3', () => s3Storage({
            bucket: config.s3Bucket!,
            endpoint: config.s3Endpoint,
            region: config.s3Region,
            accessKeyId: config.s3AccessKeyId,
            secretAccessKey: config.s3SecretAccessKey,
            forcePathStyle: config.s3ForcePathStyle,
            prefix: config.s3Prefix
        }));
    }
};
