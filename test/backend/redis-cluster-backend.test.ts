import { backendContract } from './backend-contract';
import { redisClusterFixture } from './fixtures';

backendContract(redisClusterFixture());
