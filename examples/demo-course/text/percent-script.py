# %% [markdown]
# # A notebook written as a percent script

# %%
squares = [n * n for n in range(5)]
print(squares)
