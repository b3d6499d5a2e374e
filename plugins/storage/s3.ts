import { pipeline, Transform, type Readable } from 'stream';

import type * as ClientS3 from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';
import Boom from '@hapi/boom';

import { checkKey, type Storage } from './backend';


export interface S3Options {
    bucket: string;
    endpoint?: string;                  // unset for Amazon S3 itself
    region: string;
    accessKeyId?: string;               // unset, the SDK's usual credential chain is used
    secretAccessKey?: string;
    forcePathStyle: boolean;
    prefix: string;                     // '' or folder names each ending with '/'
}


// A missing object is the caller's answer; anything else is a broken store, named by what was
// asked of it so the log says where to look. A HEAD answer has no body to name its error, so
// there a 404 is taken to be the object's.

const failure = (err: unknown, operation: string, key: string) => {

    const { name, $metadata } = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (name === 'NoSuchKey' || (operation === 'size' && $metadata?.httpStatusCode === 404)) {
        return Boom.notFound(`No stored object '${key}'`);
    }

    return Boom.boomify(err as Error, { message: `S3 ${operation} of '${key}' failed` });
};


// Any S3-compatible store: each object lives at prefix + key in one bucket. Puts stream through
// the SDK's Upload, one request for a small body and a multipart upload for a big one, so a body
// of unknown length is never held whole; the store shows a new object only once it is complete.

export const s3Storage = (options: S3Options): Storage => {

    // The SDK is loaded only where this backend is chosen: it takes a tenth of a second to load
    // and leaves an awslambda global behind

    const { AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } = require('@aws-sdk/client-s3') as typeof ClientS3;
    const { Upload } = require('@aws-sdk/lib-storage') as typeof LibStorage;

    // Many stores other than Amazon's (R2, B2, older MinIO and Ceph) refuse the checksum headers
    // the SDK adds by default: at an endpoint of its own, a store gets only those an operation
    // requires

    const checksums = options.endpoint ? 'WHEN_REQUIRED' : undefined;

    const client = new S3Client({
        region: options.region,
        endpoint: options.endpoint,
        forcePathStyle: options.forcePathStyle,
        credentials: options.accessKeyId ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey! } : undefined,
        requestChecksumCalculation: checksums,
        responseChecksumValidation: checksums
    });

    const object = (key: string) => ({ Bucket: options.bucket, Key: options.prefix + checkKey(key) });

    return {
        async put(key, body, contentType) {

            const target = object(key);

            // The size stored is the bytes that went through, counted on the way

            let size = 0;
            const counted = new Transform({
                transform(chunk: Buffer, encoding, next) {

                    size += chunk.length;
                    next(null, chunk);
                }
            });

            pipeline(body, counted, () => undefined);           // a failed body fails the upload through the counter

            // A failed multipart upload is aborted here rather than by Upload, whose failed abort
            // would be thrown in place of the reason the upload failed

            const upload = new Upload({ client, params: { ...target, Body: counted, ContentType: contentType }, leavePartsOnError: true });
            try {
                await upload.done();
                return { key, size };
            }
            catch (err) {
                counted.destroy();
                if (upload.uploadId) {
                    await client.send(new AbortMultipartUploadCommand({ ...target, UploadId: upload.uploadId })).catch(() => undefined);
                }

                throw failure(err, 'put', key);
            }
        },

        async get(key, range) {

            const target = object(key);
            try {
                const { Body } = await client.send(new GetObjectCommand({ ...target, Range: range ? `bytes=${range.start}-${range.end}` : undefined }));
                return Body as Readable;
            }
            catch (err) {
                throw failure(err, 'get', key);
            }
        },

        async size(key) {

            const target = object(key);
            try {
                const { ContentLength } = await client.send(new HeadObjectCommand(target));
                return Number(ContentLength);
            }
            catch (err) {
                throw failure(err, 'size', key);
            }
        },

        async remove(key) {

            const target = object(key);
            try {
                await client.send(new DeleteObjectCommand(target));
            }
            catch (err) {
                throw failure(err, 'remove', key);
            }
        }
    };
};
