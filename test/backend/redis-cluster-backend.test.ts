import { backendContract } from './backend-contract';
import { redisClusterFixture } from './fixtures';
import { storageContract } from './storage-contract';

backendContract(redisClusterFixture());
storageContract(redisClusterFixture());
