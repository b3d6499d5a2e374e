import { EventEmitter } from 'events';
import Path from 'path';

import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { run, type Process } from '../core/main';
import { dropTestData, testConfig } from './lib/harness';


const { describe, it } = exports.lab = Lab.script();
const { expect } = Code;


const processFor = (env: Record<string, string>, argv: string[] = []) => {

    let output = '';
    let resolveExit: (code: number) => void;
    const exited = new Promise<number>((resolve) => {

        resolveExit = resolve;
    });

    const proc: Process = {
        env,
        argv,
        signals: new EventEmitter(),
        exit: (code) => resolveExit(code),
        stderr: { write: (text: string) => (output += text) }
    };

    return { proc, exited, output: () => output };
};


const testEnv = () => {

    const config = testConfig();
    const env = {
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: config.databaseUrl,
        REDIS_PREFIX: config.redisPrefix,
        LOG_LEVEL: 'silent',
        JWT_SECRET: config.jwtSecret!,
        TALKY_PLUGINS: Path.join(__dirname, 'fixtures', 'echo-plugin')
    };

    return { config, env };
};


describe('main', () => {

    it('stops before listening on a bad setting, naming it', async () => {

        const { proc, exited, output } = processFor({ PORT: 'abc' });
        expect(await run(proc)).to.be.null();
        expect(await exited).to.equal(78);
        expect(output()).to.equal('Invalid configuration:\n  - PORT must be a number\n');
    });

    it('refuses an unknown command', async () => {

        const { proc, exited, output } = processFor({}, ['serve']);
        await run(proc);
        expect(await exited).to.equal(64);
        expect(output()).to.startWith('Unknown command \'serve\'');
    });

    it('exits non-zero when the server cannot start', async () => {

        const { proc, exited, output } = processFor({ LOG_LEVEL: 'silent', TALKY_PLUGINS: 'talky-missing-plugin' });
        await run(proc);
        expect(await exited).to.equal(1);
        expect(output()).to.contain('TALKY_PLUGINS: cannot load \'talky-missing-plugin\'');
    });

    it('migrates and exits', async () => {

        const { config, env } = testEnv();
        const first = processFor(env, ['migrate']);
        await run(first.proc);
        expect(await first.exited).to.equal(0);
        expect(first.output()).to.match(/^Applied 20260101000000_echo_notes, 20261204000100_plans, 20261204000200_auth, .*\n$/);

        const again = processFor(env, ['migrate']);
        await run(again.proc);
        expect(await again.exited).to.equal(0);
        expect(again.output()).to.equal('The database is up to date\n');
        await dropTestData(config);
    });

    it('finishes in-flight requests on SIGTERM, then exits 0', async () => {

        const { config, env } = testEnv();
        const { proc, exited } = processFor(env);
        const server = (await run(proc))!;
        expect(server.info.started).to.be.above(0);

        const inflight = fetch(`${server.info.uri}/api/v1/echo/slow?ms=300`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        proc.signals.emit('SIGTERM');

        const res = await inflight;
        expect(res.status).to.equal(200);
        expect(await res.json()).to.equal({ waited: 300 });
        expect(await exited).to.equal(0);

        await expect(fetch(`${server.info.uri}/api/v1/health`)).to.reject();
        await dropTestData(config);
    });

    it('stops on SIGINT too', async () => {

        const { config, env } = testEnv();
        const { proc, exited } = processFor(env);
        const server = (await run(proc))!;
        proc.signals.emit('SIGINT');
        proc.signals.emit('SIGTERM');
        expect(await exited).to.equal(0);
        expect(server.info.started).to.equal(0);
        await dropTestData(config);
    });
});
