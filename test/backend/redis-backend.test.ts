import { backendContract } from './backend-contract';
import { redisFixture } from './fixtures';

backendContract(redisFixture());
