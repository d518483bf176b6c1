import XCTest  // TagarelaJSONTests placeholder: delete when the first real test lands
