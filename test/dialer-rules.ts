import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { Gate } from '../plugins/dialer/gate';
import { next } from '../plugins/dialer/outcomes';
import { decide } from '../plugins/dialer/windows';


const { describe, it } = exports.lab = Lab.script();
const { expect } = Code;


describe('calling windows', () => {

    const at = (iso: string) => new Date(iso);

    it('allows 08:00 to 21:00 in the number\'s zone by default', () => {

        expect(decide(at('2026-12-04T13:00:00Z'), {}, ['America/New_York'])).to.equal({ allowed: true });           // 08:00
        expect(decide(at('2026-12-05T01:59:00Z'), {}, ['America/New_York'])).to.equal({ allowed: true });           // 20:59
        expect(decide(at('2026-12-05T02:00:00Z'), {}, ['America/New_York'])).to.equal({                             // 21:00
            allowed: false, reason: 'outside_local_hours', next: at('2026-12-05T13:00:00Z')
        });
    });

    it('needs every zone of a number that spans several to be inside', () => {

        const zones = ['America/New_York', 'America/Los_Angeles'];
        expect(decide(at('2026-12-04T15:00:00Z'), {}, zones)).to.equal({ allowed: false, reason: 'outside_local_hours', next: at('2026-12-04T16:00:00Z') });
        expect(decide(at('2026-12-04T16:00:00Z'), {}, zones)).to.equal({ allowed: true });
    });

    it('lets a campaign turn the local-hours rule off', () => {

        expect(decide(at('2026-12-05T04:00:00Z'), { enforce_local_hours: false }, ['America/New_York'])).to.equal({ allowed: true });
    });

    it('keeps the campaign window in the campaign\'s zone, and both rules together', () => {

        const config = { time_window_start: '12:00', time_window_end: '17:00', timezone: 'Europe/London' };
        expect(decide(at('2026-12-04T11:00:00Z'), config, ['Europe/London'])).to.equal({ allowed: false, reason: 'outside_campaign_window', next: at('2026-12-04T12:00:00Z') });
        expect(decide(at('2026-12-04T15:00:00Z'), config, ['America/Los_Angeles'])).to.equal({ allowed: false, reason: 'outside_local_hours', next: at('2026-12-04T16:00:00Z') });
        expect(decide(at('2026-12-04T17:00:00Z'), config, ['America/Los_Angeles'])).to.equal({ allowed: false, reason: 'outside_campaign_window', next: at('2026-12-05T16:00:00Z') });
    });

    it('uses the lead\'s own zone for a campaign window without a zone, and honours days', () => {

        const config = { time_window_start: '09:00', time_window_end: '17:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'] };
        expect(decide(at('2026-12-04T14:30:00Z'), config, ['America/New_York'])).to.equal({ allowed: true });       // Friday 09:30
        expect(decide(at('2026-12-05T15:00:00Z'), config, ['America/New_York'])).to.equal({                          // Saturday
            allowed: false, reason: 'outside_campaign_window', next: at('2026-12-07T14:00:00Z')
        });
    });

    it('finds the opening across a daylight-saving change', () => {

        expect(decide(at('2026-03-08T06:30:00Z'), {}, ['America/New_York'])).to.equal({ allowed: false, reason: 'outside_local_hours', next: at('2026-03-08T12:00:00Z') });
    });

    it('opens on the day the clocks go forward when asked the evening before', () => {

        // 23:30 on Saturday the 7th: 24 hours on is 00:30 on the 9th, the 8th being 23 hours long

        expect(decide(at('2026-03-08T04:30:00Z'), {}, ['America/New_York'])).to.equal({ allowed: false, reason: 'outside_local_hours', next: at('2026-03-08T12:00:00Z') });
        expect(decide(at('2026-03-08T07:30:00Z'), {}, ['America/Los_Angeles'])).to.equal({ allowed: false, reason: 'outside_local_hours', next: at('2026-03-08T15:00:00Z') });
        expect(decide(at('2026-03-28T23:30:00Z'), {}, ['Europe/London'])).to.equal({ allowed: false, reason: 'outside_local_hours', next: at('2026-03-29T07:00:00Z') });

        // A campaign that calls on Sundays only does not lose that Sunday for the next

        expect(decide(at('2026-03-08T04:30:00Z'), { days: ['sun'] }, ['America/New_York'])).to.equal({ allowed: false, reason: 'outside_campaign_window', next: at('2026-03-08T12:00:00Z') });
    });

    it('answers no opening when the rules never overlap', () => {

        expect(decide(at('2026-12-04T15:00:00Z'), { time_window_start: '06:00', time_window_end: '07:00' }, ['America/New_York'])).to.equal({ allowed: false, reason: 'outside_campaign_window', next: null });
    });

    it('checks only the campaign window for a number without a known zone', () => {

        expect(decide(at('2026-12-05T03:00:00Z'), {}, [])).to.equal({ allowed: true });
        expect(decide(at('2026-12-05T03:00:00Z'), { time_window_start: '09:00', time_window_end: '17:00' }, [])).to.equal({ allowed: false, reason: 'outside_campaign_window', next: at('2026-12-05T09:00:00Z') });
    });
});


describe('outcomes', () => {

    const campaign = { status: 'running', max_retries: 2, retry_delay_seconds: 600, calling_config: {} };
    const now = new Date('2026-12-04T12:00:00Z');

    it('retries retryable outcomes after the delay while retries remain', () => {

        for (const outcome of ['busy', 'no_answer', 'failed', 'voicemail'] as const) {
            expect(next(outcome, 1, campaign, now)).to.equal({ job: 'retry_scheduled', lead: 'pending', retryAt: new Date('2026-12-04T12:10:00Z') });
            expect(next(outcome, 3, campaign, now)).to.equal({ job: 'failed', lead: 'failed', retryAt: null });
        }
    });

    it('backs off when the campaign asks', () => {

        const backoff = { ...campaign, calling_config: { retry_backoff: 2 } };
        expect(next('busy', 2, backoff, now).retryAt).to.equal(new Date('2026-12-04T12:20:00Z'));
    });

    it('ends non-retryable outcomes at once', () => {

        expect(next('goal_achieved', 1, campaign, now)).to.equal({ job: 'completed', lead: 'completed', retryAt: null });
        expect(next('goal_not_achieved', 1, campaign, now)).to.equal({ job: 'completed', lead: 'contacted', retryAt: null });
        expect(next('rejected', 1, campaign, now)).to.equal({ job: 'failed', lead: 'failed', retryAt: null });
        expect(next('invalid', 1, campaign, now)).to.equal({ job: 'failed', lead: 'failed', retryAt: null });
    });

    it('schedules no retry for a stopped campaign', () => {

        expect(next('busy', 1, { ...campaign, status: 'stopped' }, now)).to.equal({ job: 'cancelled', lead: 'pending', retryAt: null });
    });
});


describe('gate', () => {

    it('wakes the first waiter of the freed campaign, else of its tenant, urgent ones first', async () => {

        const gate = new Gate(() => Promise.resolve(0));
        const woken: string[] = [];
        const wait = (name: string, campaign: string, tenant: string, urgent = false) => gate.waitForSlot(campaign, tenant, urgent).then(() => woken.push(name));

        const done = [wait('a1', 'a', 't1'), wait('a2', 'a', 't1'), wait('b1', 'b', 't1'), wait('a-urgent', 'a', 't1', true), wait('c1', 'c', 't2')];
        expect(gate.waiters).to.equal(5);

        gate.freed('a', 't1');
        gate.freed('z', 't2');
        await Promise.resolve();
        expect(woken).to.equal(['a-urgent', 'c1']);

        gate.sweep();
        await new Promise(setImmediate);
        expect(woken).to.equal(['a-urgent', 'c1', 'a1', 'b1']);

        gate.close();
        await Promise.all(done);
        expect(woken).to.equal(['a-urgent', 'c1', 'a1', 'b1', 'a2']);
        await gate.waitForSlot('a', 't1', false);                        // closed: nobody waits any more
    });

    it('hands out the call rate urgent first, then one tenant at a time', async () => {

        const waits = [0, 5, 0, 0, 0, 0, 0];
        let asked = 0;
        const gate = new Gate(() => Promise.resolve(waits[asked++] ?? 0));
        const order: string[] = [];
        const take = (name: string, tenant: string, urgent = false) => gate.paced(tenant, urgent).then(() => order.push(name));

        await Promise.all([take('a1', 'a'), take('a2', 'a'), take('a3', 'a'), take('b1', 'b'), take('u1', 'x', true), take('c1', 'c')]);
        expect(order).to.equal(['u1', 'a1', 'b1', 'c1', 'a2', 'a3']);
        expect(asked).to.equal(7);                                       // one answer said wait
    });

    it('serves a dial that asks just as the pacer ran dry', async () => {

        const gate = new Gate(() => Promise.resolve(0));
        await gate.paced('a', false);
        await gate.paced('a', false);                                    // asked in the turn the first was let go
        await gate.paced('b', true);
    });

    it('keeps pacing through a Redis outage', async () => {

        let calls = 0;
        const slept: number[] = [];
        const gate = new Gate(() => (++calls === 1 ? Promise.reject(new Error('down')) : Promise.resolve(0)), (ms) => {

            slept.push(ms);
            return Promise.resolve();
        });

        await gate.paced('a', false);
        expect(slept).to.equal([1000]);
    });
});
