import { after, before } from 'node:test';
import { StorageTestbed, storageYjsFixture } from '../helpers/storage-nodes';
import { yjsClusterSuite } from './yjs-suite';

let testbed: StorageTestbed;
before(async () => {
  testbed = await StorageTestbed.start();
});
after(async () => {
  await testbed?.close();
});

yjsClusterSuite('Redis with PostgreSQL', () => storageYjsFixture(() => testbed));
