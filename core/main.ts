import type { EventEmitter } from 'events';

import type { Server } from '@hapi/hapi';

import { ConfigError, load, type Config } from '../config';
import { createServer } from './server';


// The process around the server: read the config (a bad one stops here, before anything
// listens), start, and stop gracefully on SIGTERM or SIGINT.

export interface Process {
    env: Record<string, string | undefined>;
    argv: string[];
    signals: EventEmitter;
    exit: (code: number) => void;
    stderr: { write: (text: string) => unknown };
}


const usage = `Usage: talky [command]

Commands:
  start      start the server in the role of TALKY_ROLE (the default)
  migrate    create the database if missing and run pending migrations, then exit
`;


export const run = async (proc: Process): Promise<Server | null> => {

    const command = proc.argv[0] ?? 'start';
    if (!['start', 'migrate'].includes(command)) {
        proc.stderr.write(`Unknown command '${command}'\n\n${usage}`);
        proc.exit(64);
        return null;
    }

    let config: Config;
    try {
        config = load(proc.env);
    }
    catch (err) {
        proc.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).stack}\n`);
        proc.exit(78);
        return null;
    }

    if (command === 'migrate') {
        await runMigrations(config, proc);
        return null;
    }

    let server: Server;
    try {
        server = await createServer(config);
        await server.start();
    }
    catch (err) {
        proc.stderr.write(`Talky could not start: ${(err as Error).message}\n`);
        proc.exit(1);
        return null;
    }

    if (!proc.env.JWT_SECRET) {
        server.logger.warn('JWT_SECRET is not set: a random one was made, so sessions end when the process restarts');
    }

    server.logger.info({ uri: server.info.uri, role: config.role }, 'talky started');

    let stopping = false;
    const stop = async (signal: string) => {

        if (stopping) {
            return;
        }

        stopping = true;
        server.logger.info({ signal }, 'stopping');
        try {
            await server.stop({ timeout: config.shutdownTimeoutMs });
            proc.exit(0);
        }
        catch (err) {
            proc.stderr.write(`Talky did not stop cleanly: ${(err as Error).message}\n`);
            proc.exit(1);
        }
    };

    proc.signals.once('SIGTERM', () => stop('SIGTERM'));
    proc.signals.once('SIGINT', () => stop('SIGINT'));
    return server;
};


// Plugin migrations come from the same plugin list the server would load

const runMigrations = async (config: Config, proc: Process) => {

    let code = 0;
    const server = await createServer(config);
    try {
        const applied = await server.plugins.core.migrate();
        proc.stderr.write(applied.length ? `Applied ${applied.join(', ')}\n` : 'The database is up to date\n');
    }
    catch (err) {
        proc.stderr.write(`Migration failed: ${(err as Error).message}\n`);
        code = 1;
    }

    await server.stop();
    proc.exit(code);
};
