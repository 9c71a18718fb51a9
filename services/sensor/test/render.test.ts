import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absolutePath, ipText, renderOpenFlags, renderRes, renderSockaddr } from '../src/render.js';

describe('render', () => {
  it('renders open flags the way Falco prints them', () => {
    assert.equal(renderOpenFlags(0), 'O_RDONLY');
    assert.equal(renderOpenFlags(0o2000000), 'O_RDONLY|O_CLOEXEC');
    assert.equal(renderOpenFlags(0o1 | 0o100 | 0o1000), 'O_TRUNC|O_CREAT|O_WRONLY');
    assert.equal(renderOpenFlags(0o2 | 0o2000 | 0o2000000), 'O_APPEND|O_RDWR|O_CLOEXEC');
    assert.equal(renderOpenFlags(0o200000 | 0o4000 | 0o2000000), 'O_DIRECTORY|O_NONBLOCK|O_RDONLY|O_CLOEXEC');
    assert.equal(renderOpenFlags(0o20200000 | 0o2), 'O_DIRECTORY|O_RDWR|O_TMPFILE');
  });

  it('names errno values', () => {
    assert.equal(renderRes(-2), 'ENOENT');
    assert.equal(renderRes(-13), 'EACCES');
    assert.equal(renderRes(-115), 'EINPROGRESS');
    assert.equal(renderRes(3), '3');
  });

  it('formats addresses and joins relative paths', () => {
    assert.equal(ipText(10, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])), '::1');
    assert.equal(
      ipText(10, Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5])),
      'fe80::5',
    );
    const un = Buffer.alloc(20);
    un.writeUInt16LE(1, 0);
    un.write('/run/x.sock', 2);
    assert.equal(renderSockaddr(un)?.text, '/run/x.sock');
    assert.equal(absolutePath('../etc/passwd', '/home/a'), '/home/etc/passwd');
    assert.equal(absolutePath('/etc//./shadow', undefined), '/etc/shadow');
    assert.equal(absolutePath('x', undefined), 'x');
  });
});
