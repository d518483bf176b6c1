import XCTest  // TagarelaShardTests placeholder: delete when the first real test lands
