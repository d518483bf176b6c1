import XCTest  // TagarelaWorkerTests placeholder: delete when the first real test lands
