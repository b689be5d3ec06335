import { backendContract } from './backend-contract';
import { redisClusterFixture } from './fixtures';
import { withPostgres } from './storage-fixtures';

backendContract(withPostgres(redisClusterFixture()));
