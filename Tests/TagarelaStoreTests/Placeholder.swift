import XCTest  // TagarelaStoreTests placeholder: delete when the first real test lands
