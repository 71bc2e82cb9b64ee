import { isConnectionLost, isDatabaseUnavailable, repeatOnceIfConnectionLost } from '../../src/database';

const lost = Object.assign(new Error('terminating connection due to administrator command'), {
  code: '57P01',
});
const idleTimeout = Object.assign(new Error('terminating connection due to idle-session timeout'), {
  code: '57P05',
});

describe('isConnectionLost', () => {
  it.each([
    ['pg_terminate_backend (57P01)', lost],
    ['idle_session_timeout (57P05)', idleTimeout],
    ['a connection exception (08006)', Object.assign(new Error('x'), { code: '08006' })],
    ['a reset socket', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ["node-postgres's unexpected termination", new Error('Connection terminated unexpectedly')],
  ])('is true for %s', (_name, error) => {
    expect(isConnectionLost(error)).toBe(true);
  });

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a statement timeout', Object.assign(new Error('canceling statement'), { code: '57014' })],
    ['a client-side query timeout', new Error('Query read timeout')],
    ['a refused connection (nothing ran)', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })],
    ['a string', 'Connection terminated unexpectedly'],
  ])('is false for %s', (_name, error) => {
    expect(isConnectionLost(error)).toBe(false);
  });

  it('counts unreachable and timed-out databases as unavailable (503), but not query errors', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(lost)).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('syntax'), { code: '42601' }))).toBe(false);
  });
});

describe('repeatOnceIfConnectionLost', () => {
  it('repeats a safe statement once, on a fresh connection, when its connection died', async () => {
    const attempts: boolean[] = [];
    const onRepeat = jest.fn();
    const result = await repeatOnceIfConnectionLost(
      true,
      async (fresh) => {
        attempts.push(fresh);
        if (!fresh) throw lost;
        return 'rows';
      },
      onRepeat,
    );
    expect(result).toBe('rows');
    expect(attempts).toEqual([false, true]);
    expect(onRepeat).toHaveBeenCalledWith(lost);
  });

  it('never repeats a statement that is not safe to repeat', async () => {
    const attempt = jest.fn(async () => {
      throw lost;
    });
    await expect(repeatOnceIfConnectionLost(false, attempt, () => undefined)).rejects.toBe(lost);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('never repeats after a timeout or a query error, and gives up after the second loss', async () => {
    for (const error of [
      new Error('Query read timeout'),
      Object.assign(new Error('dup'), { code: '23505' }),
    ]) {
      const attempt = jest.fn(async () => {
        throw error;
      });
      await expect(repeatOnceIfConnectionLost(true, attempt, () => undefined)).rejects.toBe(error);
      expect(attempt).toHaveBeenCalledTimes(1);
    }
    const always = jest.fn(async () => {
      throw lost;
    });
    await expect(repeatOnceIfConnectionLost(true, always, () => undefined)).rejects.toBe(lost);
    expect(always).toHaveBeenCalledTimes(2);
  });
});
