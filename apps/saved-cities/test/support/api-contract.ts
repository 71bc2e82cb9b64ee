// The API's behaviour, written once and run against both engines: PGlite (unit) and a real Postgres 15
// (integration), so the embedded default cannot drift from what production runs.
import request from 'supertest';
import type { TestApp } from './test-app';

const NAME_RULE =
  "name must be letters, digits, spaces and . , ' ( ) -, start with a letter or digit and hold a letter";

export function describeCitiesApi(engine: string, open: () => Promise<TestApp>): void {
  describe(`the saved-cities API on ${engine}`, () => {
    let t: TestApp;
    let user = 0;
    // Each test gets its own user, so tests share one database without seeing each other's cities.
    const nextUser = () => `user-${++user}`;
    // Opening compiles PGlite's WebAssembly (or starts a pool): seconds when quiet, much longer on a busy CI host.
    beforeAll(async () => {
      t = await open();
    }, 180_000);
    afterAll(async () => {
      await t?.close();
    });

    const add = (userId: string, body: unknown, key?: string) => {
      const req = request(t.app).post(`/api/users/${userId}/cities`).set('content-type', 'application/json');
      if (key !== undefined) req.set('idempotency-key', key);
      return req.send(JSON.stringify(body));
    };

    it('adds, lists and removes a city, with canonical name and country', async () => {
      const userId = nextUser();
      const created = await add(userId, { name: '  São   Paulo ', country: 'br' }).expect(201);
      expect(created.body.city).toEqual({
        id: expect.stringMatching(/^\d+$/),
        name: 'São Paulo',
        country: 'BR',
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(created.headers.location).toBe(`/api/users/${userId}/cities/${created.body.city.id}`);
      const listed = await request(t.app).get(`/api/users/${userId}/cities`).expect(200);
      expect(listed.body.items).toEqual([created.body.city]);
      expect(listed.body.nextCursor).toBeNull();
      await request(t.app).delete(`/api/users/${userId}/cities/${created.body.city.id}`).expect(204);
      const again = await request(t.app)
        .delete(`/api/users/${userId}/cities/${created.body.city.id}`)
        .expect(404);
      expect(again.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(again.body.type).toBe('tag:slipway,2026:problem:city-not-found');
      expect((await request(t.app).get(`/api/users/${userId}/cities`)).body.items).toEqual([]);
    });

    it("keeps each user's list apart, and a city once per user whatever the case", async () => {
      const [alice, bob] = [nextUser(), nextUser()];
      await add(alice, { name: 'Lyon', country: 'FR' }).expect(201);
      await add(bob, { name: 'Lyon', country: 'FR' }).expect(201);
      const duplicate = await add(alice, { name: 'LYON', country: 'fr' }).expect(409);
      expect(duplicate.body).toMatchObject({
        type: 'tag:slipway,2026:problem:city-already-saved',
        status: 409,
        detail: 'LYON, FR is already saved',
      });
      // Same name, other country: another city.
      await add(alice, { name: 'Lyon', country: 'US' }).expect(201);
      expect((await request(t.app).get(`/api/users/${bob}/cities`)).body.items).toHaveLength(1);
    });

    it('pages with an opaque cursor, oldest first, and bounds the page size', async () => {
      const userId = nextUser();
      const names = ['Oslo', 'Bergen', 'Tromsø', 'Stavanger', 'Bodø'];
      for (const name of names) await add(userId, { name, country: 'NO' }).expect(201);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: Record<string, string> = { limit: '2', ...(cursor ? { cursor } : {}) };
        const page = await request(t.app).get(`/api/users/${userId}/cities`).query(query).expect(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((city: { name: string }) => city.name));
        cursor = page.body.nextCursor;
        pages += 1;
      } while (cursor && pages < 10);
      expect(seen).toEqual(names);
      expect(pages).toBe(3);
      // The chassis's whole-number rule, as for PORT: no blank, exponent, hex or fraction slips through.
      for (const limit of ['0', '101', '2.5', '', '1e1', '0x10', 'abc', ' ']) {
        const bad = await request(t.app).get(
          `/api/users/${userId}/cities?limit=${encodeURIComponent(limit)}`,
        );
        expect([limit, bad.status, bad.body.detail]).toEqual([
          limit,
          400,
          expect.stringMatching(/^limit must be (a whole number )?from 1 to 100$/),
        ]);
      }
      const twice = await request(t.app).get(`/api/users/${userId}/cities?limit=1&limit=2`).expect(400);
      expect(twice.body.detail).toBe('limit must be given once, not as a list');
      const badCursor = await request(t.app)
        .get(`/api/users/${userId}/cities?cursor=bm90LWFuLWlk`)
        .expect(400);
      expect(badCursor.body.detail).toBe('cursor must be a nextCursor value from a previous page');
    });

    it('answers bad input with an RFC 9457 problem naming the field', async () => {
      const userId = nextUser();
      const cases: Array<[unknown, string]> = [
        [{}, 'name is required'],
        [{ name: 42 }, 'name must be a string'],
        [{ name: '' }, 'name must not be empty'],
        [{ name: 'x'.repeat(101) }, 'name must be at most 100 characters'],
        [{ name: 'Robert"); DROP TABLE' }, NAME_RULE],
        [{ name: '1066' }, NAME_RULE],
        [{ name: '-Paris' }, NAME_RULE],
        [{ name: 'Paris', country: 'FRA' }, 'country must be an ISO 3166-1 alpha-2 code such as "GB"'],
        [{ name: 'Paris', country: 7 }, 'country must be a string'],
        [['Paris'], 'the request body must be an object'],
        [{ name: 'Paris', admin: true }, 'the request body has an unknown field: admin'],
      ];
      for (const [body, detail] of cases) {
        const res = await add(userId, body).expect(400);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body).toMatchObject({
          status: 400,
          type: 'tag:slipway,2026:problem:invalid-request',
          detail,
        });
      }
      const notJson = await request(t.app)
        .post(`/api/users/${userId}/cities`)
        .set('content-type', 'text/plain')
        .send('Paris')
        .expect(415);
      expect(notJson.body.type).toBe('tag:slipway,2026:problem:unsupported-media-type');
      const brokenJson = await request(t.app)
        .post(`/api/users/${userId}/cities`)
        .set('content-type', 'application/json')
        .send('{"name":')
        .expect(400);
      expect(brokenJson.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(brokenJson.body).toMatchObject({
        type: 'tag:slipway,2026:problem:invalid-request',
        status: 400,
      });
      // Each value's message says where it came from: the path, a header or the body.
      const badUser = await request(t.app).get('/api/users/not%20valid/cities').expect(400);
      expect(badUser.body.detail).toBe('user id in the path must be 1 to 64 letters, digits, "_" or "-"');
      const badCity = await request(t.app).delete(`/api/users/${userId}/cities/abc`).expect(400);
      expect(badCity.body.detail).toBe('city id in the path must be a city id from this API');
      const badKey = await add(userId, { name: 'Paris' }, 'x'.repeat(256)).expect(400);
      expect(badKey.body.detail).toBe('Idempotency-Key header must be 1 to 255 visible ASCII characters');
    });

    it('answers a malformed %-encoding anywhere in the path with 400 invalid-request, not a 500', async () => {
      const userId = nextUser();
      for (const [method, path] of [
        ['get', '/api/users/%ZZ/cities'],
        ['get', '/api/users/%C0%AF/cities'],
        ['delete', `/api/users/${userId}/cities/%ZZ`],
        ['delete', `/api/users/%E0%A4%A/cities/1`],
      ] as const) {
        const res = await request(t.app)[method](path);
        expect([path, res.status, res.body.type]).toEqual([
          path,
          400,
          'tag:slipway,2026:problem:invalid-request',
        ]);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      }
    });

    it('saves a name once whatever its Unicode form (NFC and NFD), and stores it as NFC', async () => {
      const userId = nextUser();
      const nfc = 'Z\u00fcrich';
      const nfd = 'Zu\u0308rich';
      const created = await add(userId, { name: nfd, country: 'CH' }).expect(201);
      expect(created.body.city.name).toBe(nfc);
      const again = await add(userId, { name: nfc, country: 'CH' }).expect(409);
      expect(again.body.type).toBe('tag:slipway,2026:problem:city-already-saved');
      // The same key with the other form is the same request: replayed, not 422.
      await add(userId, { name: 'Mu\u0308nchen' }, 'nfc-key').expect(201);
      const replay = await add(userId, { name: 'M\u00fcnchen' }, 'nfc-key').expect(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
    });

    it('accepts names with commas and digits, and any two-letter country code', async () => {
      const userId = nextUser();
      const dc = await add(userId, { name: 'Washington, D.C.', country: 'us' }).expect(201);
      expect(dc.body.city).toMatchObject({ name: 'Washington, D.C.', country: 'US' });
      await add(userId, { name: '6th of October City', country: 'EG' }).expect(201);
      // The shape is checked, not ISO's list: user-assigned codes such as XK (Kosovo) and ZZ pass.
      await add(userId, { name: 'Pristina', country: 'XK' }).expect(201);
      await add(userId, { name: 'Nowhere', country: 'ZZ' }).expect(201);
    });

    describe('Idempotency-Key', () => {
      it('replays the same answer for the same key and body, and stores the city once', async () => {
        const userId = nextUser();
        const first = await add(userId, { name: 'Kyoto', country: 'JP' }, 'key-1').expect(201);
        expect(first.headers['idempotent-replayed']).toBeUndefined();
        // Same canonical body, different spelling of it.
        const second = await add(userId, { country: 'jp', name: ' Kyoto ' }, 'key-1').expect(201);
        expect(second.headers['idempotent-replayed']).toBe('true');
        expect(second.body.city).toEqual(first.body.city);
        expect((await request(t.app).get(`/api/users/${userId}/cities`)).body.items).toHaveLength(1);
      });

      it('answers 422 when the key comes back with a different body, and changes nothing', async () => {
        const userId = nextUser();
        await add(userId, { name: 'Kyoto' }, 'key-2').expect(201);
        const reused = await add(userId, { name: 'Osaka' }, 'key-2').expect(422);
        expect(reused.body).toMatchObject({
          type: 'tag:slipway,2026:problem:idempotency-key-reused',
          status: 422,
        });
        expect((await request(t.app).get(`/api/users/${userId}/cities`)).body.items).toHaveLength(1);
      });

      it('replays a conflict as a conflict, and keys are per user', async () => {
        const [alice, bob] = [nextUser(), nextUser()];
        await add(alice, { name: 'Nice' }).expect(201);
        await add(alice, { name: 'Nice' }, 'k').expect(409);
        const replay = await add(alice, { name: 'Nice' }, 'k').expect(409);
        expect(replay.headers['idempotent-replayed']).toBe('true');
        await add(bob, { name: 'Nice' }, 'k').expect(201);
      });

      it('gives concurrent requests with one key one city and one answer', async () => {
        const userId = nextUser();
        const answers = await Promise.all(
          Array.from({ length: 6 }, () => add(userId, { name: 'Porto', country: 'PT' }, 'same-key')),
        );
        expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(201));
        expect(new Set(answers.map((answer) => answer.body.city.id)).size).toBe(1);
        expect((await request(t.app).get(`/api/users/${userId}/cities`)).body.items).toHaveLength(1);
      });
    });

    it('reports the database in /health and /health/ready; /health/live never asks it', async () => {
      const health = await request(t.app).get('/health').expect(200);
      const [check] = Object.values(health.body.checks as Record<string, Array<{ status: string }>>);
      expect(check?.[0]?.status).toBe('pass');
      await request(t.app).get('/health/ready').expect(200);
      await request(t.app).get('/health/live').expect(200);
    });
  });
}
