import { after, before } from 'node:test';
import { StorageTestbed, storageYjsFixture } from '../helpers/storage-nodes';
import { yjsClusterSuite } from './yjs-suite';

let testbed: StorageTestbed;
before(async () => {
  testbed = await StorageTestbed.start({ cluster: true });
});
after(async () => {
  await testbed?.close();
});

yjsClusterSuite('Redis Cluster with PostgreSQL', () => storageYjsFixture(() => testbed));
