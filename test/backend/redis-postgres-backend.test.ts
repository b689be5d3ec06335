import { backendContract } from './backend-contract';
import { redisFixture } from './fixtures';
import { withPostgres } from './storage-fixtures';

backendContract(withPostgres(redisFixture()));
