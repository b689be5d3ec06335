import { after, before } from 'node:test';
import { clusterSuite } from '../helpers/cluster-suite';
import { StorageTestbed, storageClusterFixture } from '../helpers/storage-nodes';

let testbed: StorageTestbed;
before(async () => {
  testbed = await StorageTestbed.start();
});
after(async () => {
  await testbed?.close();
});

clusterSuite('Redis with PostgreSQL', () => storageClusterFixture(() => testbed));
